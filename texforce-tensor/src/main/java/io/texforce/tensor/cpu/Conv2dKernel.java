package io.texforce.tensor.cpu;

/**
 * 2-D convolution (cross-correlation as in PyTorch), NCHW activations, OIHW weights, groups = 1, dilation 1.
 * Output size: {@code oh = (h + 2*padH - kh) / stride + 1}.
 */
public final class Conv2dKernel {
    private Conv2dKernel() {
    }

    public static int outSize(int in, int k, int stride, int pad) {
        return (in + 2 * pad - k) / stride + 1;
    }

    /** y[n,o,oh,ow] = bias[o] + sum_{c,i,j} x[n,c,oh*s+i-p,ow*s+j-p] * w[o,c,i,j]; bias may be null. */
    public static void forward(float[] x, int n, int c, int h, int w,
                               float[] weight, int o, int kh, int kw, float[] bias,
                               int stride, int padH, int padW, float[] y) {
        int oh = outSize(h, kh, stride, padH), ow = outSize(w, kw, stride, padW);
        Parallel.forRange(n * o, 1, (lo, hi) -> {
            for (int no = lo; no < hi; no++) {
                int b = no / o, oc = no % o;
                int yOff = no * oh * ow;
                float bv = bias == null ? 0f : bias[oc];
                for (int yy = 0; yy < oh; yy++) {
                    for (int xx = 0; xx < ow; xx++) {
                        float s = bv;
                        for (int ic = 0; ic < c; ic++) {
                            for (int i = 0; i < kh; i++) {
                                int iy = yy * stride + i - padH;
                                if (iy < 0 || iy >= h) continue;
                                for (int j = 0; j < kw; j++) {
                                    int ix = xx * stride + j - padW;
                                    if (ix < 0 || ix >= w) continue;
                                    s += x[((b * c + ic) * h + iy) * w + ix] * weight[((oc * c + ic) * kh + i) * kw + j];
                                }
                            }
                        }
                        y[yOff + yy * ow + xx] = s;
                    }
                }
            }
        });
    }

    /** gx = d(sum(y * gy)) / dx, overwritten. */
    public static void backwardInput(float[] gy, float[] weight, int n, int c, int h, int w,
                                     int o, int kh, int kw, int stride, int padH, int padW, float[] gx) {
        int oh = outSize(h, kh, stride, padH), ow = outSize(w, kw, stride, padW);
        Parallel.forRange(n * c, 1, (lo, hi) -> {
            for (int nc = lo; nc < hi; nc++) {
                int b = nc / c, ic = nc % c;
                int gxOff = nc * h * w;
                java.util.Arrays.fill(gx, gxOff, gxOff + h * w, 0f);
                for (int oc = 0; oc < o; oc++) {
                    for (int yy = 0; yy < oh; yy++) {
                        for (int xx = 0; xx < ow; xx++) {
                            float g = gy[((b * o + oc) * oh + yy) * ow + xx];
                            for (int i = 0; i < kh; i++) {
                                int iy = yy * stride + i - padH;
                                if (iy < 0 || iy >= h) continue;
                                for (int j = 0; j < kw; j++) {
                                    int ix = xx * stride + j - padW;
                                    if (ix < 0 || ix >= w) continue;
                                    gx[gxOff + iy * w + ix] += g * weight[((oc * c + ic) * kh + i) * kw + j];
                                }
                            }
                        }
                    }
                }
            }
        });
    }

    /** gw (and gb when non-null) overwritten with the gradients of sum(y * gy). */
    public static void backwardWeight(float[] gy, float[] x, int n, int c, int h, int w,
                                      int o, int kh, int kw, int stride, int padH, int padW,
                                      float[] gw, float[] gb) {
        int oh = outSize(h, kh, stride, padH), ow = outSize(w, kw, stride, padW);
        Parallel.forRange(o, 1, (lo, hi) -> {
            for (int oc = lo; oc < hi; oc++) {
                for (int ic = 0; ic < c; ic++) {
                    for (int i = 0; i < kh; i++) {
                        for (int j = 0; j < kw; j++) {
                            float s = 0f;
                            for (int b = 0; b < n; b++) {
                                for (int yy = 0; yy < oh; yy++) {
                                    int iy = yy * stride + i - padH;
                                    if (iy < 0 || iy >= h) continue;
                                    for (int xx = 0; xx < ow; xx++) {
                                        int ix = xx * stride + j - padW;
                                        if (ix < 0 || ix >= w) continue;
                                        s += gy[((b * o + oc) * oh + yy) * ow + xx] * x[((b * c + ic) * h + iy) * w + ix];
                                    }
                                }
                            }
                            gw[((oc * c + ic) * kh + i) * kw + j] = s;
                        }
                    }
                }
                if (gb != null) {
                    float s = 0f;
                    for (int b = 0; b < n; b++) {
                        int off = (b * o + oc) * oh * ow;
                        for (int p = 0; p < oh * ow; p++) s += gy[off + p];
                    }
                    gb[oc] = s;
                }
            }
        });
    }
}
