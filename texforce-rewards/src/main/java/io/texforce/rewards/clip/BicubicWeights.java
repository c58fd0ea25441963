package io.texforce.rewards.clip;

/**
 * Interpolation weights for resizing one axis from {@code in} to {@code out} samples, as a dense [out, in]
 * matrix: row i holds the weight of every input sample in output sample i.
 */
final class BicubicWeights {
    /** The cubic coefficient of Pillow's BICUBIC filter and of torch's antialiased bicubic. */
    static final double PIL_A = -0.5;
    /** The cubic coefficient of torch's {@code F.interpolate(mode="bicubic")} without antialiasing. */
    static final double TORCH_A = -0.75;

    private BicubicWeights() {
    }

    /** Keys' cubic convolution kernel with coefficient {@code a}, support [-2, 2]. */
    static double cubic(double x, double a) {
        x = Math.abs(x);
        if (x < 1) {
            return ((a + 2) * x - (a + 3)) * x * x + 1;
        }
        if (x < 2) {
            return (((x - 5) * x + 8) * x - 4) * a;
        }
        return 0;
    }

    /**
     * Pillow's antialiased bicubic: when shrinking, the kernel is stretched by the scale so that every input pixel
     * contributes; taps that fall outside the image are dropped and each row renormalised to sum 1.
     */
    static double[][] antialiased(int in, int out) {
        double scale = (double) in / out;
        double filterScale = Math.max(scale, 1.0);
        double support = 2.0 * filterScale;
        double[][] w = new double[out][in];
        for (int i = 0; i < out; i++) {
            double center = (i + 0.5) * scale;
            // Truncation, not floor, as Pillow's C casts; the clamp makes the two agree.
            int lo = Math.max((int) (center - support + 0.5), 0);
            int hi = Math.min((int) (center + support + 0.5), in);
            double sum = 0;
            for (int x = lo; x < hi; x++) {
                w[i][x] = cubic((x - center + 0.5) / filterScale, PIL_A);
                sum += w[i][x];
            }
            if (sum != 0) {
                for (int x = lo; x < hi; x++) {
                    w[i][x] /= sum;
                }
            }
        }
        return w;
    }

    /**
     * torch's bicubic ({@code align_corners=False}, no antialiasing): four taps around
     * {@code (i + 0.5) * in / out - 0.5}, indices clamped to the border.
     */
    static double[][] torch(int in, int out) {
        double scale = (double) in / out;
        double[][] w = new double[out][in];
        for (int i = 0; i < out; i++) {
            double real = scale * (i + 0.5) - 0.5;
            int x0 = (int) Math.floor(real);
            double t = real - x0;
            double[] taps = {cubic(t + 1, TORCH_A), cubic(t, TORCH_A), cubic(1 - t, TORCH_A), cubic(2 - t, TORCH_A)};
            for (int k = 0; k < 4; k++) {
                w[i][Math.clamp(x0 - 1 + k, 0, in - 1)] += taps[k];
            }
        }
        return w;
    }
}
