package io.texforce.tensor.cpu;

/**
 * Normalisation kernels. Statistics are accumulated in double so that large groups (320 channels x 4096 pixels)
 * keep float32 parity with PyTorch.
 */
public final class NormKernels {
    private NormKernels() {
    }

    /**
     * Group norm over x [n, c, spatial]: each (sample, group) of c/groups channels is normalised, then scaled by
     * gamma[c] and shifted by beta[c] (either may be null). mean/rstd receive [n, groups].
     */
    public static void groupNorm(float[] x, int n, int c, int spatial, int groups, float[] gamma, float[] beta,
                                 float eps, float[] y, float[] mean, float[] rstd) {
        int cpg = c / groups;
        Parallel.forRange(n * groups, 1, (lo, hi) -> {
            for (int ng = lo; ng < hi; ng++) {
                int b = ng / groups, g = ng % groups;
                int off = (b * c + g * cpg) * spatial, len = cpg * spatial;
                double s = 0, ss = 0;
                for (int i = 0; i < len; i++) s += x[off + i];
                double mu = s / len;
                for (int i = 0; i < len; i++) {
                    double dlt = x[off + i] - mu;
                    ss += dlt * dlt;
                }
                float rs = (float) (1.0 / Math.sqrt(ss / len + eps));
                mean[ng] = (float) mu;
                rstd[ng] = rs;
                for (int cc = 0; cc < cpg; cc++) {
                    int ch = g * cpg + cc;
                    float ga = gamma == null ? 1f : gamma[ch], be = beta == null ? 0f : beta[ch];
                    int co = off + cc * spatial;
                    for (int i = 0; i < spatial; i++) y[co + i] = (float) ((x[co + i] - mu) * rs) * ga + be;
                }
            }
        });
    }

    /** Gradients of group norm; gGamma/gBeta (may be null) are overwritten. */
    public static void groupNormBackward(float[] gy, float[] x, float[] mean, float[] rstd, float[] gamma,
                                         int n, int c, int spatial, int groups,
                                         float[] gx, float[] gGamma, float[] gBeta) {
        int cpg = c / groups;
        Parallel.forRange(n * groups, 1, (lo, hi) -> {
            for (int ng = lo; ng < hi; ng++) {
                int b = ng / groups, g = ng % groups;
                int off = (b * c + g * cpg) * spatial, len = cpg * spatial;
                float mu = mean[ng], rs = rstd[ng];
                double sumG = 0, sumGx = 0;
                for (int cc = 0; cc < cpg; cc++) {
                    float ga = gamma == null ? 1f : gamma[g * cpg + cc];
                    int co = off + cc * spatial;
                    for (int i = 0; i < spatial; i++) {
                        double gh = gy[co + i] * ga;
                        sumG += gh;
                        sumGx += gh * (x[co + i] - mu) * rs;
                    }
                }
                double mG = sumG / len, mGx = sumGx / len;
                for (int cc = 0; cc < cpg; cc++) {
                    float ga = gamma == null ? 1f : gamma[g * cpg + cc];
                    int co = off + cc * spatial;
                    for (int i = 0; i < spatial; i++) {
                        double xh = (x[co + i] - mu) * rs;
                        gx[co + i] = (float) (rs * (gy[co + i] * ga - mG - xh * mGx));
                    }
                }
            }
        });
        if (gGamma != null || gBeta != null) {
            Parallel.forRange(c, 8, (lo, hi) -> {
                for (int ch = lo; ch < hi; ch++) {
                    int g = ch / cpg;
                    double sg = 0, sb = 0;
                    for (int b = 0; b < n; b++) {
                        int co = (b * c + ch) * spatial;
                        float mu = mean[b * groups + g], rs = rstd[b * groups + g];
                        for (int i = 0; i < spatial; i++) {
                            sb += gy[co + i];
                            sg += gy[co + i] * (x[co + i] - mu) * rs;
                        }
                    }
                    if (gGamma != null) gGamma[ch] = (float) sg;
                    if (gBeta != null) gBeta[ch] = (float) sb;
                }
            });
        }
    }

    /** Layer norm over the last dimension of x [rows, cols]; mean/rstd receive [rows]. */
    public static void layerNorm(float[] x, int rows, int cols, float[] gamma, float[] beta, float eps,
                                 float[] y, float[] mean, float[] rstd) {
        Parallel.forRange(rows, 32, (lo, hi) -> {
            for (int r = lo; r < hi; r++) {
                int off = r * cols;
                double s = 0, ss = 0;
                for (int i = 0; i < cols; i++) s += x[off + i];
                double mu = s / cols;
                for (int i = 0; i < cols; i++) {
                    double dlt = x[off + i] - mu;
                    ss += dlt * dlt;
                }
                float rs = (float) (1.0 / Math.sqrt(ss / cols + eps));
                mean[r] = (float) mu;
                rstd[r] = rs;
                for (int i = 0; i < cols; i++) {
                    float v = (float) ((x[off + i] - mu) * rs);
                    y[off + i] = v * (gamma == null ? 1f : gamma[i]) + (beta == null ? 0f : beta[i]);
                }
            }
        });
    }

    /** Gradients of layer norm; gGamma/gBeta (may be null) are overwritten. */
    public static void layerNormBackward(float[] gy, float[] x, float[] mean, float[] rstd, float[] gamma,
                                         int rows, int cols, float[] gx, float[] gGamma, float[] gBeta) {
        Parallel.forRange(rows, 32, (lo, hi) -> {
            for (int r = lo; r < hi; r++) {
                int off = r * cols;
                float mu = mean[r], rs = rstd[r];
                double sumG = 0, sumGx = 0;
                for (int i = 0; i < cols; i++) {
                    double gh = gy[off + i] * (gamma == null ? 1f : gamma[i]);
                    sumG += gh;
                    sumGx += gh * (x[off + i] - mu) * rs;
                }
                double mG = sumG / cols, mGx = sumGx / cols;
                for (int i = 0; i < cols; i++) {
                    double xh = (x[off + i] - mu) * rs;
                    double gh = gy[off + i] * (gamma == null ? 1f : gamma[i]);
                    gx[off + i] = (float) (rs * (gh - mG - xh * mGx));
                }
            }
        });
        if (gGamma != null || gBeta != null) {
            Parallel.forRange(cols, 64, (lo, hi) -> {
                for (int i = lo; i < hi; i++) {
                    double sg = 0, sb = 0;
                    for (int r = 0; r < rows; r++) {
                        float g = gy[r * cols + i];
                        sb += g;
                        sg += g * (x[r * cols + i] - mean[r]) * rstd[r];
                    }
                    if (gGamma != null) gGamma[i] = (float) sg;
                    if (gBeta != null) gBeta[i] = (float) sb;
                }
            });
        }
    }

    /** Softmax over the last dimension of x [rows, cols]. */
    public static void softmax(float[] x, int rows, int cols, float[] y) {
        Parallel.forRange(rows, 32, (lo, hi) -> {
            for (int r = lo; r < hi; r++) {
                int off = r * cols;
                float max = Float.NEGATIVE_INFINITY;
                for (int i = 0; i < cols; i++) max = Math.max(max, x[off + i]);
                double sum = 0;
                for (int i = 0; i < cols; i++) {
                    float e = (float) Math.exp(x[off + i] - max);
                    y[off + i] = e;
                    sum += e;
                }
                float inv = (float) (1.0 / sum);
                for (int i = 0; i < cols; i++) y[off + i] *= inv;
            }
        });
    }

    /** gx = y * (gy - sum(gy * y)) per row. */
    public static void softmaxBackward(float[] gy, float[] y, int rows, int cols, float[] gx) {
        Parallel.forRange(rows, 32, (lo, hi) -> {
            for (int r = lo; r < hi; r++) {
                int off = r * cols;
                double dot = 0;
                for (int i = 0; i < cols; i++) dot += gy[off + i] * y[off + i];
                for (int i = 0; i < cols; i++) gx[off + i] = (float) (y[off + i] * (gy[off + i] - dot));
            }
        });
    }
}
