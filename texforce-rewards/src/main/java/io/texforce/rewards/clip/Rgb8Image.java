package io.texforce.rewards.clip;

import io.texforce.tensor.Shape;
import io.texforce.tensor.Tensor;

/** An 8-bit RGB image, pixels interleaved row by row ({@code [H, W, 3]}), as PIL and numpy hold it. */
public record Rgb8Image(int height, int width, byte[] pixels) {
    public Rgb8Image {
        if (height <= 0 || width <= 0 || pixels.length != height * width * 3) {
            throw new IllegalArgumentException("RGB image " + height + "x" + width + " needs " + height * width * 3
                    + " bytes, got " + pixels.length);
        }
    }

    /** The channel {@code c} value at (y, x), 0..255. */
    public int get(int y, int x, int c) {
        return pixels[(y * width + x) * 3 + c] & 0xFF;
    }

    /**
     * One image [3, H, W] in [0, 1] quantised as DDPO does before its CLIP processors:
     * {@code round(x * 255)} clamped to 0..255.
     */
    public static Rgb8Image fromTensor(Tensor image) {
        int[] s = image.shape();
        if (s.length != 3 || s[0] != 3) {
            throw new IllegalArgumentException("expected an RGB image [3, H, W], got " + Shape.str(s));
        }
        int h = s[1], w = s[2];
        float[] d = image.contiguous().toFloatArray();
        byte[] px = new byte[h * w * 3];
        for (int c = 0; c < 3; c++) {
            for (int i = 0; i < h * w; i++) {
                double v = Math.rint(d[c * h * w + i] * 255.0);
                px[i * 3 + c] = (byte) Math.max(0, Math.min(255, (int) v));
            }
        }
        return new Rgb8Image(h, w, px);
    }
}
