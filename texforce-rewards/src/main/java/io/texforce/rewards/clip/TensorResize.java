package io.texforce.rewards.clip;

import io.texforce.tensor.Shape;
import io.texforce.tensor.Tensor;

/**
 * Bicubic resizing of float image batches as two matrix products ({@code Wy @ x @ Wx^T}), so it is differentiable
 * and runs on any backend. This is the plain tensor resize some rewards apply to decoded images instead of PIL.
 */
public final class TensorResize {
    private TensorResize() {
    }

    /**
     * images [B, C, H, W] resized to [B, C, height, width] as torch's
     * {@code F.interpolate(mode="bicubic", align_corners=False, antialias=antialias)}: with antialiasing the
     * Pillow-style kernel (a = -0.5, stretched when shrinking), without it the classic four taps (a = -0.75).
     * Values are not clamped (bicubic overshoots a little at edges, as torch's does).
     */
    public static Tensor bicubic(Tensor images, int height, int width, boolean antialias) {
        int[] s = images.shape();
        if (s.length != 4) {
            throw new IllegalArgumentException("expected images [B, C, H, W], got " + Shape.str(s));
        }
        Tensor wy = matrix(s[2], height, antialias).to(images.backend());
        Tensor wx = matrix(s[3], width, antialias).to(images.backend());
        return Tensor.matmul(wy.matmul(images), wx, false, true);
    }

    /** {@link #bicubic} to 224x224 with antialiasing, the input size of CLIP ViT-L/14 and ViT-H/14. */
    public static Tensor to224(Tensor images) {
        return bicubic(images, 224, 224, true);
    }

    private static Tensor matrix(int in, int out, boolean antialias) {
        double[][] w = antialias ? BicubicWeights.antialiased(in, out) : BicubicWeights.torch(in, out);
        float[] flat = new float[out * in];
        for (int i = 0; i < out; i++) {
            for (int j = 0; j < in; j++) {
                flat[i * in + j] = (float) w[i][j];
            }
        }
        return Tensor.of(flat, out, in);
    }
}
