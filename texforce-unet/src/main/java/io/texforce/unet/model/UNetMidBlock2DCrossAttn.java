package io.texforce.unet.model;

import io.texforce.tensor.Tensor;
import io.texforce.tensor.nn.Checkpointing;
import io.texforce.tensor.nn.Module;
import io.texforce.tensor.nn.ModuleList;
import io.texforce.tensor.nn.VarBuilder;
import io.texforce.unet.nn.ResnetBlock2D;
import io.texforce.unet.nn.Transformer2DModel;

import java.util.List;

/** The bottleneck: resnet, then (transformer, resnet) pairs. */
public final class UNetMidBlock2DCrossAttn extends Module {
    private final ModuleList<ResnetBlock2D> resnets;
    private final ModuleList<Transformer2DModel> attentions;

    UNetMidBlock2DCrossAttn(VarBuilder vb, UNetConfig c) {
        int last = c.blocks() - 1;
        int ch = c.blockOutChannels()[last];
        int heads = c.numAttentionHeads()[last];
        boolean shift = c.resnetTimeScaleShift().equals("scale_shift");
        this.resnets = child("resnets", new ModuleList<>());
        this.attentions = child("attentions", new ModuleList<>());
        resnets.add(new ResnetBlock2D(vb.pp("resnets").pp(0), ch, ch, c.timeEmbedDim(), c.normNumGroups(), c.normEps(),
                c.actFn(), c.midBlockScaleFactor(), shift));
        attentions.add(new Transformer2DModel(vb.pp("attentions").pp(0), heads, ch / heads, ch,
                c.transformerLayersPerBlock()[last], c.normNumGroups(), c.crossAttentionDim()[last],
                c.useLinearProjection(), false));
        resnets.add(new ResnetBlock2D(vb.pp("resnets").pp(1), ch, ch, c.timeEmbedDim(), c.normNumGroups(), c.normEps(),
                c.actFn(), c.midBlockScaleFactor(), shift));
    }

    /** With {@code checkpoint}, the whole block is one {@link Checkpointing} segment (it runs at 1/8 resolution). */
    Tensor forward(Tensor h, Tensor temb, Tensor context, boolean checkpoint) {
        return Checkpointing.run(checkpoint, List.of(this), in -> new Tensor[]{run(in[0], in[1], in[2])},
                h, temb, context)[0];
    }

    private Tensor run(Tensor h, Tensor temb, Tensor context) {
        h = resnets.get(0).forward(h, temb);
        for (int i = 0; i < attentions.size(); i++) {
            h = attentions.get(i).forward(h, context);
            h = resnets.get(i + 1).forward(h, temb);
        }
        return h;
    }
}
