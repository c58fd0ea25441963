package io.texforce.unet.model;

import io.texforce.tensor.Tensor;
import io.texforce.tensor.nn.Checkpointing;
import io.texforce.tensor.nn.Module;
import io.texforce.tensor.nn.ModuleList;
import io.texforce.tensor.nn.VarBuilder;
import io.texforce.unet.nn.ResnetBlock2D;
import io.texforce.unet.nn.Transformer2DModel;
import io.texforce.unet.nn.Upsample2D;

import java.util.Arrays;
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

    /**
     * Consumes skip connections from the end of {@code skips}. With {@code checkpoint}, each layer (skip
     * concatenation, resnet and transformer, the last one with the upsampler) is one {@link Checkpointing} segment.
     */
    Tensor forward(Tensor h, Tensor temb, Tensor context, List<Tensor> skips, boolean checkpoint) {
        for (int i = 0; i < resnets.size(); i++) {
            Tensor skip = skips.remove(skips.size() - 1);
            int layer = i;
            boolean last = i == resnets.size() - 1;
            Tensor next = last && !skips.isEmpty() ? skips.get(skips.size() - 1) : null;
            int height = next == null ? -1 : next.size(2);
            int width = next == null ? -1 : next.size(3);
            h = Checkpointing.run(checkpoint, Arrays.asList(resnets.get(i), attention(i), last ? upsampler : null),
                    in -> new Tensor[]{layer(layer, last, in[0], in[1], in[2], in[3], height, width)},
                    h, skip, temb, context)[0];
        }
        return h;
    }

    /** One layer; the last one ends with the upsampler, scaling to height x width (or 2x when -1). */
    private Tensor layer(int i, boolean last, Tensor h, Tensor skip, Tensor temb, Tensor context, int height,
                         int width) {
        h = Tensor.concat(List.of(h, skip), 1);
        h = resnets.get(i).forward(h, temb);
        if (attentions != null) {
            h = attentions.get(i).forward(h, context);
        }
        return last && upsampler != null ? upsampler.forward(h, height, width) : h;
    }

    private Transformer2DModel attention(int i) {
        return attentions == null ? null : attentions.get(i);
    }
}
