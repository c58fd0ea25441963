package io.texforce.unet.model;

import io.texforce.tensor.Tensor;
import io.texforce.tensor.nn.Checkpointing;
import io.texforce.tensor.nn.Module;
import io.texforce.tensor.nn.ModuleList;
import io.texforce.tensor.nn.VarBuilder;
import io.texforce.unet.nn.Downsample2D;
import io.texforce.unet.nn.ResnetBlock2D;
import io.texforce.unet.nn.Transformer2DModel;

import java.util.Arrays;
import java.util.List;

/**
 * A down block of the U-Net: {@code CrossAttnDownBlock2D} (resnets each followed by a Transformer2DModel) or
 * {@code DownBlock2D} (resnets only), then an optional stride-2 downsampler. Every resnet/attention output and
 * the downsampled output are kept as skip connections for the up path.
 */
public final class UNetDownBlock extends Module {
    private final ModuleList<ResnetBlock2D> resnets;
    private final ModuleList<Transformer2DModel> attentions;
    private final Downsample2D downsampler;

    UNetDownBlock(VarBuilder vb, UNetConfig c, int block, int in, int out, boolean crossAttention, boolean downsample) {
        this.resnets = child("resnets", new ModuleList<>());
        this.attentions = crossAttention ? child("attentions", new ModuleList<>()) : null;
        int heads = c.numAttentionHeads()[block];
        for (int i = 0; i < c.layersPerBlock()[block]; i++) {
            resnets.add(new ResnetBlock2D(vb.pp("resnets").pp(i), i == 0 ? in : out, out, c.timeEmbedDim(),
                    c.normNumGroups(), c.normEps(), c.actFn(), 1f, c.resnetTimeScaleShift().equals("scale_shift")));
            if (crossAttention) {
                attentions.add(new Transformer2DModel(vb.pp("attentions").pp(i), heads, out / heads, out,
                        c.transformerLayersPerBlock()[block], c.normNumGroups(), c.crossAttentionDim()[block],
                        c.useLinearProjection(), c.onlyCrossAttention()[block]));
            }
        }
        if (downsample) {
            ModuleList<Downsample2D> ds = child("downsamplers", new ModuleList<>());
            this.downsampler = new Downsample2D(vb.pp("downsamplers").pp(0), out, c.downsamplePadding());
            ds.add(downsampler);
        } else {
            this.downsampler = null;
        }
    }

    /**
     * Runs the block on h, appending its skip connections to {@code skips}; returns the block output. With
     * {@code checkpoint}, each layer (resnet and transformer, the last one with the downsampler) is one
     * {@link Checkpointing} segment.
     */
    Tensor forward(Tensor h, Tensor temb, Tensor context, List<Tensor> skips, boolean checkpoint) {
        for (int i = 0; i < resnets.size(); i++) {
            int layer = i;
            boolean last = i == resnets.size() - 1;
            Tensor[] out = Checkpointing.run(checkpoint,
                    Arrays.asList(resnets.get(i), attention(i), last ? downsampler : null),
                    in -> layer(layer, last, in[0], in[1], in[2]), h, temb, context);
            skips.addAll(Arrays.asList(out));
            h = out[out.length - 1];
        }
        return h;
    }

    /** One layer: its output, and after the last layer also the downsampled output; both are skips. */
    private Tensor[] layer(int i, boolean last, Tensor h, Tensor temb, Tensor context) {
        h = resnets.get(i).forward(h, temb);
        if (attentions != null) {
            h = attentions.get(i).forward(h, context);
        }
        return last && downsampler != null ? new Tensor[]{h, downsampler.forward(h)} : new Tensor[]{h};
    }

    private Transformer2DModel attention(int i) {
        return attentions == null ? null : attentions.get(i);
    }
}
