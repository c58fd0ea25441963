package io.texforce.unet.nn;

import io.texforce.tensor.Tensor;
import io.texforce.tensor.nn.Conv2d;
import io.texforce.tensor.nn.GroupNorm;
import io.texforce.tensor.nn.Linear;
import io.texforce.tensor.nn.Module;
import io.texforce.tensor.nn.VarBuilder;

import java.util.function.UnaryOperator;

/**
 * diffusers' {@code ResnetBlock2D}: norm1, act, conv1, + projected time embedding, norm2, act, conv2, plus the
 * input (through a 1x1 {@code conv_shortcut} when the channel count changes), divided by the output scale factor.
 * The VAE's blocks have no time embedding. With {@code scaleShift} ("scale_shift" time embedding norm) the time
 * embedding is projected to a scale and a shift applied after norm2.
 */
public final class ResnetBlock2D extends Module {
    private final GroupNorm norm1;
    private final Conv2d conv1;
    private final Linear timeEmbProj;
    private final GroupNorm norm2;
    private final Conv2d conv2;
    private final Conv2d shortcut;
    private final UnaryOperator<Tensor> act;
    private final float outputScale;
    private final boolean scaleShift;

    public ResnetBlock2D(VarBuilder vb, int in, int out, int tembChannels, int groups, float eps, String actFn,
                         float outputScale, boolean scaleShift) {
        this.norm1 = child("norm1", new GroupNorm(vb.pp("norm1"), groups, in, eps));
        this.conv1 = child("conv1", new Conv2d(vb.pp("conv1"), in, out, 3, 1, 1, true));
        this.timeEmbProj = tembChannels > 0
                ? child("time_emb_proj", new Linear(vb.pp("time_emb_proj"), tembChannels, scaleShift ? 2 * out : out, true))
                : null;
        this.norm2 = child("norm2", new GroupNorm(vb.pp("norm2"), groups, out, eps));
        this.conv2 = child("conv2", new Conv2d(vb.pp("conv2"), out, out, 3, 1, 1, true));
        this.shortcut = in != out ? child("conv_shortcut", new Conv2d(vb.pp("conv_shortcut"), in, out, 1, 1, 0, true)) : null;
        this.act = Activations.of(actFn);
        this.outputScale = outputScale;
        this.scaleShift = scaleShift;
    }

    /** x [B, in, H, W], temb [B, tembChannels] or null -> [B, out, H, W]. */
    public Tensor forward(Tensor x, Tensor temb) {
        Tensor h = conv1.forward(act.apply(norm1.forward(x)));
        Tensor t = null;
        if (timeEmbProj != null && temb != null) {
            t = timeEmbProj.forward(act.apply(temb));
            t = t.reshape(t.size(0), t.size(1), 1, 1);
        }
        if (t != null && !scaleShift) {
            h = h.add(t);
        }
        h = norm2.forward(h);
        if (t != null && scaleShift) {
            int c = t.size(1) / 2;
            h = h.mul(t.narrow(1, 0, c).add(1f)).add(t.narrow(1, c, c));
        }
        h = conv2.forward(act.apply(h));
        Tensor skip = shortcut == null ? x : shortcut.forward(x);
        Tensor out = skip.add(h);
        return outputScale == 1f ? out : out.div(outputScale);
    }
}
