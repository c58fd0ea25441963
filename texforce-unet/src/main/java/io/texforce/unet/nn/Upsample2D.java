package io.texforce.unet.nn;

import io.texforce.tensor.Functional;
import io.texforce.tensor.Tensor;
import io.texforce.tensor.nn.Conv2d;
import io.texforce.tensor.nn.Module;
import io.texforce.tensor.nn.VarBuilder;

/** Nearest-neighbour x2 upsampling followed by a 3x3 convolution ({@code conv}). */
public final class Upsample2D extends Module {
    private final Conv2d conv;

    public Upsample2D(VarBuilder vb, int channels) {
        this.conv = child("conv", new Conv2d(vb.pp("conv"), channels, channels, 3, 1, 1, true));
    }

    /** Doubles H and W; {@code targetH/targetW} (the skip connection's size) must be exactly that. */
    public Tensor forward(Tensor x, int targetH, int targetW) {
        if (targetH > 0 && (targetH != 2 * x.size(2) || targetW != 2 * x.size(3))) {
            throw new IllegalArgumentException("upsampling " + x.size(2) + "x" + x.size(3) + " to " + targetH + "x"
                    + targetW + ": latent height and width must be divisible by 2^(number of up blocks - 1)");
        }
        return conv.forward(Functional.upsampleNearest2x(x));
    }
}
