package io.texforce.tensor.cpu;

import java.util.Arrays;

/**
 * 2-D convolution (cross-correlation as in PyTorch), NCHW activations, OIHW weights, groups = 1, dilation 1.
 * Output size: {@code oh = (h + 2*padH - kh) / stride + 1}.
 *
 * <p>All three passes are lowered to {@link Gemm}: a 1x1 stride-1 unpadded convolution is a plain matrix product
 * per image; anything else goes through an im2col buffer of shape [c*kh*kw, output pixels]. That buffer is built
 * for several whole images at a time when they are small, and for bands of output rows of one image when they are
 * large, so its size stays within {@link #COLUMN_BUDGET} floats whatever the input (or one output row's patches,
 * if even that is larger).
 */
public final class Conv2dKernel {
    /** Largest im2col buffer, in floats (16 MiB): enough for long GEMM panels, small next to SD activations. */
    static final int COLUMN_BUDGET = 1 << 22;

    private Conv2dKernel() {
    }

    public static int outSize(int in, int k, int stride, int pad) {
        return (in + 2 * pad - k) / stride + 1;
    }

    /** y[n,o,oh,ow] = bias[o] + sum_{c,i,j} x[n,c,oh*s+i-p,ow*s+j-p] * w[o,c,i,j]; bias may be null. */
    public static void forward(float[] x, int n, int c, int h, int w,
                               float[] weight, int o, int kh, int kw, float[] bias,
                               int stride, int padH, int padW, float[] y) {
        forward(x, n, c, h, w, weight, null, o, kh, kw, bias, stride, padH, padW, y);
    }

    /** {@link #forward} with a 16-bit weight, read directly by the GEMM (no float32 copy of it is made). */
    public static void forward(float[] x, int n, int c, int h, int w,
                               HalfStorage weight, int o, int kh, int kw, float[] bias,
                               int stride, int padH, int padW, float[] y) {
        forward(x, n, c, h, w, null, weight, o, kh, kw, bias, stride, padH, padW, y);
    }

    private static void forward(float[] x, int n, int c, int h, int w,
                                float[] weight, HalfStorage halfWeight, int o, int kh, int kw, float[] bias,
                                int stride, int padH, int padW, float[] y) {
        var g = Geometry.of(n, c, h, w, o, kh, kw, stride, padH, padW);
        g.require("x", x, n * g.inPlane * c);
        g.require("weight", weight, halfWeight, o * g.kdim);
        g.require("y", y, n * o * g.outPlane);
        if (bias != null) {
            g.require("bias", bias, o);
        }
        if (g.isPointwise()) {
            Gemm.gemmBatched(n, false, false, o, g.outPlane, c, weight, halfWeight, 0, c, 0,
                    x, null, 0, g.inPlane, c * g.inPlane, y, 0, g.outPlane, o * g.outPlane, false);
        } else if (n > 0) {
            float[] col = new float[g.tiling().columnFloats(g)];
            g.tiling().forEachStep(g, (b0, nb, r0, rows) -> {
                int cols = rows * g.ow;
                g.im2col(x, b0, nb, r0, rows, col);
                Gemm.gemmBatched(nb, false, false, o, cols, g.kdim, weight, halfWeight, 0, g.kdim, 0,
                        col, null, 0, cols, g.kdim * cols,
                        y, b0 * o * g.outPlane + r0 * g.ow, g.outPlane, o * g.outPlane, false);
            });
        }
        if (bias != null) {
            int plane = g.outPlane;
            Parallel.forRange(n * o, Math.max(1, 16384 / plane), (lo, hi) -> {
                for (int p = lo; p < hi; p++) {
                    float bv = bias[p % o];
                    for (int i = p * plane, end = i + plane; i < end; i++) {
                        y[i] += bv;
                    }
                }
            });
        }
    }

    /** gx = d(sum(y * gy)) / dx, overwritten. */
    public static void backwardInput(float[] gy, float[] weight, int n, int c, int h, int w,
                                     int o, int kh, int kw, int stride, int padH, int padW, float[] gx) {
        backwardInput(gy, weight, null, n, c, h, w, o, kh, kw, stride, padH, padW, gx);
    }

    /** {@link #backwardInput} through a frozen 16-bit weight, read directly by the GEMM. */
    public static void backwardInput(float[] gy, HalfStorage weight, int n, int c, int h, int w,
                                     int o, int kh, int kw, int stride, int padH, int padW, float[] gx) {
        backwardInput(gy, null, weight, n, c, h, w, o, kh, kw, stride, padH, padW, gx);
    }

    private static void backwardInput(float[] gy, float[] weight, HalfStorage halfWeight, int n, int c, int h, int w,
                                      int o, int kh, int kw, int stride, int padH, int padW, float[] gx) {
        var g = Geometry.of(n, c, h, w, o, kh, kw, stride, padH, padW);
        g.require("gy", gy, n * o * g.outPlane);
        g.require("weight", weight, halfWeight, o * g.kdim);
        g.require("gx", gx, n * c * g.inPlane);
        if (g.isPointwise()) {
            Gemm.gemmBatched(n, true, false, c, g.inPlane, o, weight, halfWeight, 0, c, 0,
                    gy, null, 0, g.outPlane, o * g.outPlane, gx, 0, g.inPlane, c * g.inPlane, false);
            return;
        }
        Arrays.fill(gx, 0, n * c * g.inPlane, 0f);
        if (n == 0) {
            return;
        }
        float[] col = new float[g.tiling().columnFloats(g)];
        g.tiling().forEachStep(g, (b0, nb, r0, rows) -> {
            int cols = rows * g.ow;
            Gemm.gemmBatched(nb, true, false, g.kdim, cols, o, weight, halfWeight, 0, g.kdim, 0,
                    gy, null, b0 * o * g.outPlane + r0 * g.ow, g.outPlane, o * g.outPlane,
                    col, 0, cols, g.kdim * cols, false);
            g.col2im(col, b0, nb, r0, rows, gx);
        });
    }

    /** gw (and gb when non-null) overwritten with the gradients of sum(y * gy). */
    public static void backwardWeight(float[] gy, float[] x, int n, int c, int h, int w,
                                      int o, int kh, int kw, int stride, int padH, int padW,
                                      float[] gw, float[] gb) {
        var g = Geometry.of(n, c, h, w, o, kh, kw, stride, padH, padW);
        g.require("gy", gy, n * o * g.outPlane);
        g.require("x", x, n * c * g.inPlane);
        g.require("gw", gw, o * g.kdim);
        // Every image (and every row band) adds its share into gw, so it starts from zero.
        Arrays.fill(gw, 0, o * g.kdim, 0f);
        if (g.isPointwise()) {
            for (int b = 0; b < n; b++) {
                Gemm.sgemm(false, true, o, c, g.inPlane, gy, b * o * g.outPlane, g.outPlane,
                        x, b * c * g.inPlane, g.inPlane, gw, 0, c, true);
            }
        } else if (n > 0) {
            float[] col = new float[g.tiling().columnFloats(g)];
            g.tiling().forEachStep(g, (b0, nb, r0, rows) -> {
                int cols = rows * g.ow;
                g.im2col(x, b0, nb, r0, rows, col);
                for (int i = 0; i < nb; i++) {
                    Gemm.sgemm(false, true, o, g.kdim, cols, gy, (b0 + i) * o * g.outPlane + r0 * g.ow, g.outPlane,
                            col, i * g.kdim * cols, cols, gw, 0, g.kdim, true);
                }
            });
        }
        if (gb != null) {
            g.require("gb", gb, o);
            Parallel.forRange(o, 8, (lo, hi) -> {
                for (int oc = lo; oc < hi; oc++) {
                    double s = 0;
                    for (int b = 0; b < n; b++) {
                        s += VectorSums.sum(gy, (b * o + oc) * g.outPlane, g.outPlane);
                    }
                    gb[oc] = (float) s;
                }
            });
        }
    }

    /** Sizes of one convolution and the im2col / col2im transforms between its input and column layouts. */
    private record Geometry(int n, int c, int h, int w, int o, int kh, int kw, int stride, int padH, int padW,
                            int oh, int ow, int kdim, int inPlane, int outPlane) {

        static Geometry of(int n, int c, int h, int w, int o, int kh, int kw, int stride, int padH, int padW) {
            int oh = outSize(h, kh, stride, padH), ow = outSize(w, kw, stride, padW);
            if (n < 0 || c <= 0 || o <= 0 || kh <= 0 || kw <= 0 || stride <= 0 || padH < 0 || padW < 0
                    || oh <= 0 || ow <= 0) {
                throw new IllegalArgumentException("conv2d: invalid geometry n=" + n + " c=" + c + " h=" + h
                        + " w=" + w + " o=" + o + " kernel=" + kh + "x" + kw + " stride=" + stride
                        + " pad=" + padH + "," + padW + " (output " + oh + "x" + ow + ")");
            }
            return new Geometry(n, c, h, w, o, kh, kw, stride, padH, padW, oh, ow, c * kh * kw, h * w, oh * ow);
        }

        boolean isPointwise() {
            return kh == 1 && kw == 1 && stride == 1 && padH == 0 && padW == 0;
        }

        void require(String name, float[] a, HalfStorage half, int floats) {
            if (a == null) {
                requireLength(name, half.size(), floats, "16-bit elements");
            } else {
                require(name, a, floats);
            }
        }

        void require(String name, float[] a, int floats) {
            requireLength(name, a.length, floats, "floats");
        }

        private void requireLength(String name, int length, int floats, String unit) {
            if (length < floats) {
                throw new IllegalArgumentException("conv2d: " + name + " has " + length + " " + unit + ", needs "
                        + floats + " for n=" + n + " c=" + c + " " + h + "x" + w + " -> o=" + o + " " + oh + "x" + ow
                        + " kernel " + kh + "x" + kw);
            }
        }

        Tiling tiling() {
            long perImage = (long) kdim * outPlane;
            if (perImage <= COLUMN_BUDGET) {
                return new Tiling((int) Math.max(1, Math.min(n, COLUMN_BUDGET / perImage)), oh);
            }
            return new Tiling(1, (int) Math.max(1, COLUMN_BUDGET / ((long) kdim * ow)));
        }

        /** First output column whose input column {@code xx*stride + j - padW} is inside the image. */
        private int firstValid(int j, int pad, int stride) {
            return Math.max(0, Math.ceilDiv(pad - j, stride));
        }

        private int endValid(int j, int pad, int stride, int in, int out) {
            return Math.min(out, Math.floorDiv(in - 1 + pad - j, stride) + 1);
        }

        /** Fills col [nb][kdim][rows*ow] with the input patches of output rows [r0, r0+rows) of images b0... */
        void im2col(float[] x, int b0, int nb, int r0, int rows, float[] col) {
            int cols = rows * ow;
            Parallel.forRange(nb * kdim, Math.max(1, 8192 / cols), (lo, hi) -> {
                for (int t = lo; t < hi; t++) {
                    int b = b0 + t / kdim, kr = t % kdim;
                    int ic = kr / (kh * kw), i = kr / kw % kh, j = kr % kw;
                    int src = (b * c + ic) * inPlane;
                    int xLo = firstValid(j, padW, stride), xHi = endValid(j, padW, stride, w, ow);
                    int dst = t * cols;
                    for (int yy = r0; yy < r0 + rows; yy++, dst += ow) {
                        int iy = yy * stride + i - padH;
                        if (iy < 0 || iy >= h || xLo >= xHi) {
                            Arrays.fill(col, dst, dst + ow, 0f);
                            continue;
                        }
                        Arrays.fill(col, dst, dst + xLo, 0f);
                        Arrays.fill(col, dst + xHi, dst + ow, 0f);
                        int rowSrc = src + iy * w - padW + j;
                        if (stride == 1) {
                            System.arraycopy(x, rowSrc + xLo, col, dst + xLo, xHi - xLo);
                        } else {
                            for (int xx = xLo; xx < xHi; xx++) {
                                col[dst + xx] = x[rowSrc + xx * stride];
                            }
                        }
                    }
                }
            });
        }

        /** Adds col [nb][kdim][rows*ow] back onto the input positions it was gathered from (inverse of im2col). */
        void col2im(float[] col, int b0, int nb, int r0, int rows, float[] gx) {
            int cols = rows * ow, taps = kh * kw;
            // One task per (image, channel) plane: every write of a task lands in its own plane, so no races.
            Parallel.forRange(nb * c, Math.max(1, 8192 / (cols * taps)), (lo, hi) -> {
                for (int t = lo; t < hi; t++) {
                    int bi = t / c, ic = t % c;
                    int dstPlane = ((b0 + bi) * c + ic) * inPlane;
                    for (int tap = 0; tap < taps; tap++) {
                        int i = tap / kw, j = tap % kw;
                        int xLo = firstValid(j, padW, stride), xHi = endValid(j, padW, stride, w, ow);
                        int src = (bi * kdim + ic * taps + tap) * cols;
                        for (int yy = r0; yy < r0 + rows; yy++, src += ow) {
                            int iy = yy * stride + i - padH;
                            if (iy < 0 || iy >= h) {
                                continue;
                            }
                            int rowDst = dstPlane + iy * w - padW + j;
                            if (stride == 1) {
                                for (int xx = xLo; xx < xHi; xx++) {
                                    gx[rowDst + xx] += col[src + xx];
                                }
                            } else {
                                for (int xx = xLo; xx < xHi; xx++) {
                                    gx[rowDst + xx * stride] += col[src + xx];
                                }
                            }
                        }
                    }
                }
            });
        }
    }

    /** A walk over the output in steps of {@code images} whole images, or of {@code rows} output rows of one image. */
    private record Tiling(int images, int rows) {
        @FunctionalInterface
        interface Step {
            void run(int firstImage, int imageCount, int firstRow, int rowCount);
        }

        int columnFloats(Geometry g) {
            return images * g.kdim * rows * g.ow;
        }

        void forEachStep(Geometry g, Step step) {
            for (int b0 = 0; b0 < g.n; b0 += images) {
                for (int r0 = 0; r0 < g.oh; r0 += rows) {
                    step.run(b0, Math.min(images, g.n - b0), r0, Math.min(rows, g.oh - r0));
                }
            }
        }
    }
}
