package io.texforce.rewards.clip;

/**
 * {@code PIL.Image.resize(size, Image.BICUBIC)} on 8-bit RGB, bit for bit: Pillow resamples horizontally then
 * vertically, each pass with its weights in 22-bit fixed point and its result rounded and clamped to 8 bits.
 * This is the resize of transformers' {@code CLIPImageProcessor} and of torchvision transforms on PIL images.
 */
public final class PilResize {
    private static final int PRECISION_BITS = 32 - 8 - 2;

    private PilResize() {
    }

    /** {@code image} resized to {@code width x height} with Pillow's antialiased bicubic filter. */
    public static Rgb8Image bicubic(Rgb8Image image, int width, int height) {
        if (width <= 0 || height <= 0) {
            throw new IllegalArgumentException("cannot resize to " + width + "x" + height);
        }
        Rgb8Image out = image;
        if (width != image.width()) {
            out = horizontal(out, width);
        }
        if (height != image.height()) {
            out = vertical(out, height);
        }
        return out;
    }

    private static Rgb8Image horizontal(Rgb8Image in, int width) {
        Taps taps = Taps.of(BicubicWeights.antialiased(in.width(), width));
        byte[] px = new byte[in.height() * width * 3];
        for (int y = 0; y < in.height(); y++) {
            for (int x = 0; x < width; x++) {
                for (int c = 0; c < 3; c++) {
                    int acc = 1 << (PRECISION_BITS - 1);
                    for (int j = 0; j < taps.count[x]; j++) {
                        acc += in.get(y, taps.start[x] + j, c) * taps.weights[x][j];
                    }
                    px[(y * width + x) * 3 + c] = clip8(acc);
                }
            }
        }
        return new Rgb8Image(in.height(), width, px);
    }

    private static Rgb8Image vertical(Rgb8Image in, int height) {
        Taps taps = Taps.of(BicubicWeights.antialiased(in.height(), height));
        int width = in.width();
        byte[] px = new byte[height * width * 3];
        for (int y = 0; y < height; y++) {
            for (int x = 0; x < width; x++) {
                for (int c = 0; c < 3; c++) {
                    int acc = 1 << (PRECISION_BITS - 1);
                    for (int j = 0; j < taps.count[y]; j++) {
                        acc += in.get(taps.start[y] + j, x, c) * taps.weights[y][j];
                    }
                    px[(y * width + x) * 3 + c] = clip8(acc);
                }
            }
        }
        return new Rgb8Image(height, width, px);
    }

    private static byte clip8(int acc) {
        return (byte) Math.clamp(acc >> PRECISION_BITS, 0, 255);
    }

    /** The nonzero span of each weight row, in Pillow's fixed point (rounded half away from zero). */
    private record Taps(int[] start, int[] count, int[][] weights) {
        static Taps of(double[][] dense) {
            int n = dense.length;
            int[] start = new int[n], count = new int[n];
            int[][] weights = new int[n][];
            for (int i = 0; i < n; i++) {
                int lo = 0, hi = dense[i].length;
                while (lo < hi && dense[i][lo] == 0) {
                    lo++;
                }
                while (hi > lo && dense[i][hi - 1] == 0) {
                    hi--;
                }
                start[i] = lo;
                count[i] = hi - lo;
                weights[i] = new int[hi - lo];
                for (int j = lo; j < hi; j++) {
                    double k = dense[i][j] * (1 << PRECISION_BITS);
                    weights[i][j - lo] = (int) (k < 0 ? k - 0.5 : k + 0.5);
                }
            }
            return new Taps(start, count, weights);
        }
    }
}
