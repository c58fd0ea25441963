package io.texforce.unet.vae;

import io.texforce.tensor.Tensor;
import io.texforce.tensor.nn.Module;
import io.texforce.tensor.nn.ModuleList;
import io.texforce.tensor.nn.VarBuilder;
import io.texforce.unet.nn.Attention;
import io.texforce.unet.nn.ResnetBlock2D;

/** The VAE bottleneck: resnet, single-head spatial self-attention, resnet (no time embedding). */
public final class UNetMidBlock2D extends Module {
    private final ModuleList<ResnetBlock2D> resnets;
    private final ModuleList<Attention> attentions;

    UNetMidBlock2D(VarBuilder vb, int channels, VaeConfig c) {
        this.resnets = child("resnets", new ModuleList<>());
        this.attentions = c.midBlockAddAttention() ? child("attentions", new ModuleList<>()) : null;
        resnets.add(new ResnetBlock2D(vb.pp("resnets").pp(0), channels, channels, 0, c.normNumGroups(), 1e-6f,
                c.actFn(), 1f, false));
        if (attentions != null) {
            attentions.add(Attention.spatial(vb.pp("attentions").pp(0), channels, channels, c.normNumGroups(), 1e-6f));
        }
        resnets.add(new ResnetBlock2D(vb.pp("resnets").pp(1), channels, channels, 0, c.normNumGroups(), 1e-6f,
                c.actFn(), 1f, false));
    }

    Tensor forward(Tensor h) {
        h = resnets.get(0).forward(h, null);
        if (attentions != null) {
            h = attentions.get(0).forward(h, null);
        }
        return resnets.get(1).forward(h, null);
    }
}
