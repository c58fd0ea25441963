package io.texforce.tensor.cpu;

/**
 * Direct-loop reference implementations of the CPU kernels, used as the test oracle. Signatures and semantics
 * mirror {@link Conv2dKernel}, {@link AttentionKernel} and {@link NormKernels}; every reduction accumulates in
 * double so that the measured difference is dominated by the fast kernel's own rounding.
 */
final class NaiveKernels {
    private NaiveKernels() {
    }

    static void conv2dForward(float[] x, int n, int c, int h, int w,
                              float[] weight, int o, int kh, int kw, float[] bias,
                              int stride, int padH, int padW, float[] y) {
        int oh = Conv2dKernel.outSize(h, kh, stride, padH), ow = Conv2dKernel.outSize(w, kw, stride, padW);
        for (int b = 0; b < n; b++) {
            for (int oc = 0; oc < o; oc++) {
                for (int yy = 0; yy < oh; yy++) {
                    for (int xx = 0; xx < ow; xx++) {
                        double s = bias == null ? 0 : bias[oc];
                        for (int ic = 0; ic < c; ic++) {
                            for (int i = 0; i < kh; i++) {
                                int iy = yy * stride + i - padH;
                                if (iy < 0 || iy >= h) continue;
                                for (int j = 0; j < kw; j++) {
                                    int ix = xx * stride + j - padW;
                                    if (ix < 0 || ix >= w) continue;
                                    s += (double) x[((b * c + ic) * h + iy) * w + ix]
                                            * weight[((oc * c + ic) * kh + i) * kw + j];
                                }
                            }
                        }
                        y[((b * o + oc) * oh + yy) * ow + xx] = (float) s;
                    }
                }
            }
        }
    }

    static void conv2dBackwardInput(float[] gy, float[] weight, int n, int c, int h, int w,
                                    int o, int kh, int kw, int stride, int padH, int padW, float[] gx) {
        int oh = Conv2dKernel.outSize(h, kh, stride, padH), ow = Conv2dKernel.outSize(w, kw, stride, padW);
        double[] acc = new double[n * c * h * w];
        for (int b = 0; b < n; b++) {
            for (int ic = 0; ic < c; ic++) {
                for (int oc = 0; oc < o; oc++) {
                    for (int yy = 0; yy < oh; yy++) {
                        for (int xx = 0; xx < ow; xx++) {
                            double g = gy[((b * o + oc) * oh + yy) * ow + xx];
                            for (int i = 0; i < kh; i++) {
                                int iy = yy * stride + i - padH;
                                if (iy < 0 || iy >= h) continue;
                                for (int j = 0; j < kw; j++) {
                                    int ix = xx * stride + j - padW;
                                    if (ix < 0 || ix >= w) continue;
                                    acc[((b * c + ic) * h + iy) * w + ix] += g * weight[((oc * c + ic) * kh + i) * kw + j];
                                }
                            }
                        }
                    }
                }
            }
        }
        for (int i = 0; i < acc.length; i++) gx[i] = (float) acc[i];
    }

    static void conv2dBackwardWeight(float[] gy, float[] x, int n, int c, int h, int w,
                                     int o, int kh, int kw, int stride, int padH, int padW,
                                     float[] gw, float[] gb) {
        int oh = Conv2dKernel.outSize(h, kh, stride, padH), ow = Conv2dKernel.outSize(w, kw, stride, padW);
        for (int oc = 0; oc < o; oc++) {
            for (int ic = 0; ic < c; ic++) {
                for (int i = 0; i < kh; i++) {
                    for (int j = 0; j < kw; j++) {
                        double s = 0;
                        for (int b = 0; b < n; b++) {
                            for (int yy = 0; yy < oh; yy++) {
                                int iy = yy * stride + i - padH;
                                if (iy < 0 || iy >= h) continue;
                                for (int xx = 0; xx < ow; xx++) {
                                    int ix = xx * stride + j - padW;
                                    if (ix < 0 || ix >= w) continue;
                                    s += (double) gy[((b * o + oc) * oh + yy) * ow + xx] * x[((b * c + ic) * h + iy) * w + ix];
                                }
                            }
                        }
                        gw[((oc * c + ic) * kh + i) * kw + j] = (float) s;
                    }
                }
            }
            if (gb != null) {
                double s = 0;
                for (int b = 0; b < n; b++) {
                    int off = (b * o + oc) * oh * ow;
                    for (int p = 0; p < oh * ow; p++) s += gy[off + p];
                }
                gb[oc] = (float) s;
            }
        }
    }

    static void attentionForward(float[] q, float[] k, float[] v, int bh, int nq, int nk, int d, int dv,
                                 float scale, boolean causal, float[] out, float[] lse) {
        double[] s = new double[nk];
        for (int r = 0; r < bh * nq; r++) {
            int h = r / nq, i = r % nq;
            int kv = causal ? Math.min(nk, i + 1) : nk;
            double max = Double.NEGATIVE_INFINITY;
            for (int j = 0; j < kv; j++) {
                double dot = 0;
                for (int p = 0; p < d; p++) dot += (double) q[r * d + p] * k[(h * nk + j) * d + p];
                s[j] = dot * scale;
                max = Math.max(max, s[j]);
            }
            double sum = 0;
            for (int j = 0; j < kv; j++) {
                s[j] = Math.exp(s[j] - max);
                sum += s[j];
            }
            for (int p = 0; p < dv; p++) {
                double o = 0;
                for (int j = 0; j < kv; j++) o += s[j] / sum * v[(h * nk + j) * dv + p];
                out[r * dv + p] = (float) o;
            }
            lse[r] = (float) (max + Math.log(sum));
        }
    }

    static void attentionBackward(float[] q, float[] k, float[] v, float[] out, float[] gOut, float[] lse,
                                  int bh, int nq, int nk, int d, int dv, float scale, boolean causal,
                                  float[] gq, float[] gk, float[] gv) {
        double[] aq = new double[gq.length], ak = new double[gk.length], av = new double[gv.length];
        for (int h = 0; h < bh; h++) {
            for (int i = 0; i < nq; i++) {
                int r = h * nq + i;
                int kv = causal ? Math.min(nk, i + 1) : nk;
                double delta = 0;
                for (int t = 0; t < dv; t++) delta += (double) gOut[r * dv + t] * out[r * dv + t];
                for (int j = 0; j < kv; j++) {
                    int ko = (h * nk + j) * d, vo = (h * nk + j) * dv;
                    double dot = 0;
                    for (int t = 0; t < d; t++) dot += (double) q[r * d + t] * k[ko + t];
                    double pj = Math.exp(dot * scale - lse[r]);
                    double dp = 0;
                    for (int t = 0; t < dv; t++) {
                        dp += (double) gOut[r * dv + t] * v[vo + t];
                        av[vo + t] += pj * gOut[r * dv + t];
                    }
                    double ds = pj * (dp - delta) * scale;
                    for (int t = 0; t < d; t++) {
                        aq[r * d + t] += ds * k[ko + t];
                        ak[ko + t] += ds * q[r * d + t];
                    }
                }
            }
        }
        copy(aq, gq);
        copy(ak, gk);
        copy(av, gv);
    }

    static void groupNorm(float[] x, int n, int c, int spatial, int groups, float[] gamma, float[] beta,
                          float eps, float[] y, float[] mean, float[] rstd) {
        int cpg = c / groups;
        for (int ng = 0; ng < n * groups; ng++) {
            int g = ng % groups;
            int off = ng * cpg * spatial, len = cpg * spatial;
            double s = 0, ss = 0;
            for (int i = 0; i < len; i++) s += x[off + i];
            double mu = s / len;
            for (int i = 0; i < len; i++) ss += (x[off + i] - mu) * (x[off + i] - mu);
            double rs = 1.0 / Math.sqrt(ss / len + eps);
            mean[ng] = (float) mu;
            rstd[ng] = (float) rs;
            for (int i = 0; i < len; i++) {
                int ch = g * cpg + i / spatial;
                y[off + i] = (float) ((x[off + i] - mu) * rs * (gamma == null ? 1 : gamma[ch]) + (beta == null ? 0 : beta[ch]));
            }
        }
    }

    static void groupNormBackward(float[] gy, float[] x, float[] mean, float[] rstd, float[] gamma,
                                  int n, int c, int spatial, int groups,
                                  float[] gx, float[] gGamma, float[] gBeta) {
        int cpg = c / groups;
        double[] sg = new double[c], sb = new double[c];
        for (int ng = 0; ng < n * groups; ng++) {
            int g = ng % groups;
            int off = ng * cpg * spatial, len = cpg * spatial;
            double mu = mean[ng], rs = rstd[ng];
            double sumG = 0, sumGx = 0;
            for (int i = 0; i < len; i++) {
                int ch = g * cpg + i / spatial;
                double gh = gy[off + i] * (gamma == null ? 1.0 : gamma[ch]);
                double xh = (x[off + i] - mu) * rs;
                sumG += gh;
                sumGx += gh * xh;
                sb[ch] += gy[off + i];
                sg[ch] += gy[off + i] * xh;
            }
            for (int i = 0; i < len; i++) {
                int ch = g * cpg + i / spatial;
                double gh = gy[off + i] * (gamma == null ? 1.0 : gamma[ch]);
                double xh = (x[off + i] - mu) * rs;
                gx[off + i] = (float) (rs * (gh - sumG / len - xh * sumGx / len));
            }
        }
        if (gGamma != null) copy(sg, gGamma);
        if (gBeta != null) copy(sb, gBeta);
    }

    static void layerNorm(float[] x, int rows, int cols, float[] gamma, float[] beta, float eps,
                          float[] y, float[] mean, float[] rstd) {
        for (int r = 0; r < rows; r++) {
            int off = r * cols;
            double s = 0, ss = 0;
            for (int i = 0; i < cols; i++) s += x[off + i];
            double mu = s / cols;
            for (int i = 0; i < cols; i++) ss += (x[off + i] - mu) * (x[off + i] - mu);
            double rs = 1.0 / Math.sqrt(ss / cols + eps);
            mean[r] = (float) mu;
            rstd[r] = (float) rs;
            for (int i = 0; i < cols; i++) {
                y[off + i] = (float) ((x[off + i] - mu) * rs * (gamma == null ? 1 : gamma[i]) + (beta == null ? 0 : beta[i]));
            }
        }
    }

    static void layerNormBackward(float[] gy, float[] x, float[] mean, float[] rstd, float[] gamma,
                                  int rows, int cols, float[] gx, float[] gGamma, float[] gBeta) {
        double[] sg = new double[cols], sb = new double[cols];
        for (int r = 0; r < rows; r++) {
            int off = r * cols;
            double mu = mean[r], rs = rstd[r];
            double sumG = 0, sumGx = 0;
            for (int i = 0; i < cols; i++) {
                double gh = gy[off + i] * (gamma == null ? 1.0 : gamma[i]);
                double xh = (x[off + i] - mu) * rs;
                sumG += gh;
                sumGx += gh * xh;
                sb[i] += gy[off + i];
                sg[i] += gy[off + i] * xh;
            }
            for (int i = 0; i < cols; i++) {
                double gh = gy[off + i] * (gamma == null ? 1.0 : gamma[i]);
                double xh = (x[off + i] - mu) * rs;
                gx[off + i] = (float) (rs * (gh - sumG / cols - xh * sumGx / cols));
            }
        }
        if (gGamma != null) copy(sg, gGamma);
        if (gBeta != null) copy(sb, gBeta);
    }

    static void softmax(float[] x, int rows, int cols, float[] y) {
        for (int r = 0; r < rows; r++) {
            int off = r * cols;
            double max = Double.NEGATIVE_INFINITY;
            for (int i = 0; i < cols; i++) max = Math.max(max, x[off + i]);
            double sum = 0;
            for (int i = 0; i < cols; i++) sum += Math.exp(x[off + i] - max);
            for (int i = 0; i < cols; i++) y[off + i] = (float) (Math.exp(x[off + i] - max) / sum);
        }
    }

    static void softmaxBackward(float[] gy, float[] y, int rows, int cols, float[] gx) {
        for (int r = 0; r < rows; r++) {
            int off = r * cols;
            double dot = 0;
            for (int i = 0; i < cols; i++) dot += (double) gy[off + i] * y[off + i];
            for (int i = 0; i < cols; i++) gx[off + i] = (float) (y[off + i] * (gy[off + i] - dot));
        }
    }

    private static void copy(double[] src, float[] dst) {
        for (int i = 0; i < src.length; i++) dst[i] = (float) src[i];
    }
}
