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

    /**
     * Doubles H and W, or scales to {@code targetH x targetW} (the skip connection's size; -1: plain doubling). A
     * target of 2n - 1 comes from an odd size halved by a stride-2 convolution on the way down; nearest
     * interpolation to 2n - 1, as diffusers' {@code forward_upsample_size} does it ({@code floor(j * n / (2n - 1))}),
     * picks the same source rows as doubling does for the first 2n - 1 rows (in PyTorch's float arithmetic, for
     * every n up to 2094), so the result is the doubled map cut to size.
     */
    public Tensor forward(Tensor x, int targetH, int targetW) {
        int h = x.size(2), w = x.size(3);
        if (targetH > 0 && (!fits(targetH, h) || !fits(targetW, w))) {
            throw new IllegalArgumentException("upsampling " + h + "x" + w + " to " + targetH + "x" + targetW
                    + ": a skip connection must be twice the size, or one less");
        }
        Tensor up = Functional.upsampleNearest2x(x);
        if (targetH > 0 && (targetH != 2 * h || targetW != 2 * w)) {
            up = up.narrow(2, 0, targetH).narrow(3, 0, targetW).contiguous();
        }
        return conv.forward(up);
    }

    private static boolean fits(int target, int size) {
        return target == 2 * size || target == 2 * size - 1;
    }
}
