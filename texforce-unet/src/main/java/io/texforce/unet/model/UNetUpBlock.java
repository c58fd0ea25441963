package io.texforce.unet.model;

import io.texforce.tensor.Tensor;
import io.texforce.tensor.nn.Module;
import io.texforce.tensor.nn.ModuleList;
import io.texforce.tensor.nn.VarBuilder;
import io.texforce.unet.nn.ResnetBlock2D;
import io.texforce.unet.nn.Transformer2DModel;
import io.texforce.unet.nn.Upsample2D;

import java.util.List;

/**
 * An up block of the U-Net: {@code CrossAttnUpBlock2D} or {@code UpBlock2D}. Each resnet takes the running
 * features concatenated with the most recent remaining skip connection; an optional upsampler follows.
 */
public final class UNetUpBlock extends Module {
    private final ModuleList<ResnetBlock2D> resnets;
    private final ModuleList<Transformer2DModel> attentions;
    private final Upsample2D upsampler;

    /**
     * @param revBlock index into the reversed per-block config lists
     * @param in       channels of the skip connection from the matching down block's input
     * @param prev     channels coming from the previous up block (or the mid block)
     */
    UNetUpBlock(VarBuilder vb, UNetConfig c, int revBlock, int in, int out, int prev, boolean crossAttention,
                boolean upsample) {
        int block = c.blocks() - 1 - revBlock;
        int layers = c.layersPerBlock()[block] + 1;
        int heads = c.numAttentionHeads()[block];
        this.resnets = child("resnets", new ModuleList<>());
        this.attentions = crossAttention ? child("attentions", new ModuleList<>()) : null;
        for (int i = 0; i < layers; i++) {
            int skip = i == layers - 1 ? in : out;
            int resIn = i == 0 ? prev : out;
            resnets.add(new ResnetBlock2D(vb.pp("resnets").pp(i), resIn + skip, out, c.timeEmbedDim(),
                    c.normNumGroups(), c.normEps(), c.actFn(), 1f, c.resnetTimeScaleShift().equals("scale_shift")));
            if (crossAttention) {
                attentions.add(new Transformer2DModel(vb.pp("attentions").pp(i), heads, out / heads, out,
                        c.transformerLayersPerBlock()[block], c.normNumGroups(), c.crossAttentionDim()[block],
                        c.useLinearProjection(), c.onlyCrossAttention()[block]));
            }
        }
        if (upsample) {
            ModuleList<Upsample2D> us = child("upsamplers", new ModuleList<>());
            this.upsampler = new Upsample2D(vb.pp("upsamplers").pp(0), out);
            us.add(upsampler);
        } else {
            this.upsampler = null;
        }
    }

    int resnetCount() {
        return resnets.size();
    }

    /** Consumes skip connections from the end of {@code skips}. */
    Tensor forward(Tensor h, Tensor temb, Tensor context, List<Tensor> skips) {
        for (int i = 0; i < resnets.size(); i++) {
            Tensor skip = skips.remove(skips.size() - 1);
            h = Tensor.concat(List.of(h, skip), 1);
            h = resnets.get(i).forward(h, temb);
            if (attentions != null) {
                h = attentions.get(i).forward(h, context);
            }
        }
        if (upsampler != null) {
            Tensor next = skips.isEmpty() ? null : skips.get(skips.size() - 1);
            h = upsampler.forward(h, next == null ? -1 : next.size(2), next == null ? -1 : next.size(3));
        }
        return h;
    }
}
