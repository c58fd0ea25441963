package io.texforce.unet.nn;

import io.texforce.tensor.Functional;
import io.texforce.tensor.Tensor;
import io.texforce.tensor.nn.Conv2d;
import io.texforce.tensor.nn.Module;
import io.texforce.tensor.nn.VarBuilder;

/**
 * A 3x3 stride-2 convolution ({@code conv}). With padding 0 (the VAE encoder) the input is first padded by one
 * on the right and bottom only, as diffusers does.
 */
public final class Downsample2D extends Module {
    private final Conv2d conv;
    private final boolean asymmetric;

    public Downsample2D(VarBuilder vb, int channels, int padding) {
        this.asymmetric = padding == 0;
        this.conv = child("conv", new Conv2d(vb.pp("conv"), channels, channels, 3, 2, padding, true));
    }

    public Tensor forward(Tensor x) {
        return conv.forward(asymmetric ? Functional.pad2d(x, 0, 1, 0, 1) : x);
    }
}
