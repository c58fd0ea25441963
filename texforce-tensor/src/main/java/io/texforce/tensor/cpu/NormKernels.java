package io.texforce.tensor.cpu;

import java.util.Arrays;
import jdk.incubator.vector.FloatVector;
import jdk.incubator.vector.VectorOperators;
import jdk.incubator.vector.VectorSpecies;

/**
 * Normalisation kernels. Statistics are accumulated in double (via {@link VectorSums}) so that large groups
 * (320 channels x 4096 pixels) keep float32 parity with PyTorch; the elementwise passes are SIMD.
 */
public final class NormKernels {
    private static final VectorSpecies<Float> F = FloatVector.SPECIES_PREFERRED;

    private NormKernels() {
    }

    /**
     * Group norm over x [n, c, spatial]: each (sample, group) of c/groups channels is normalised, then scaled by
     * gamma[c] and shifted by beta[c] (either may be null). mean/rstd receive [n, groups].
     */
    public static void groupNorm(float[] x, int n, int c, int spatial, int groups, float[] gamma, float[] beta,
                                 float eps, float[] y, float[] mean, float[] rstd) {
        requireGroups(c, groups);
        int cpg = c / groups;
        Parallel.forRange(n * groups, 1, (lo, hi) -> {
            for (int ng = lo; ng < hi; ng++) {
                int g = ng % groups;
                int off = ng * cpg * spatial, len = cpg * spatial;
                float mu = (float) (VectorSums.sum(x, off, len) / len);
                float rs = (float) (1.0 / Math.sqrt(VectorSums.sumSquaredDeviation(x, off, len, mu) / len + eps));
                mean[ng] = mu;
                rstd[ng] = rs;
                for (int cc = 0; cc < cpg; cc++) {
                    int ch = g * cpg + cc;
                    float scale = rs * (gamma == null ? 1f : gamma[ch]);
                    float shift = beta == null ? 0f : beta[ch];
                    affine(x, y, off + cc * spatial, spatial, mu, scale, shift);
                }
            }
        });
    }

    /** Gradients of group norm; gGamma/gBeta (may be null) are overwritten. */
    public static void groupNormBackward(float[] gy, float[] x, float[] mean, float[] rstd, float[] gamma,
                                         int n, int c, int spatial, int groups,
                                         float[] gx, float[] gGamma, float[] gBeta) {
        requireGroups(c, groups);
        int cpg = c / groups;
        // Per (sample, channel): sum(gy) and sum(gy * (x - mean)); both the input and the affine gradients are
        // linear combinations of these, so the data is read once for statistics and once to write gx.
        double[] sumGy = new double[n * c], sumGyX = new double[n * c];
        Parallel.forRange(n * c, Math.max(1, 8192 / Math.max(1, spatial)), (lo, hi) -> {
            for (int p = lo; p < hi; p++) {
                int ng = p / c * groups + p % c / cpg;
                sumGy[p] = VectorSums.sum(gy, p * spatial, spatial);
                sumGyX[p] = VectorSums.dotCentered(gy, p * spatial, x, p * spatial, spatial, mean[ng]);
            }
        });
        double len = (double) cpg * spatial;
        Parallel.forRange(n * groups, 1, (lo, hi) -> {
            for (int ng = lo; ng < hi; ng++) {
                int b = ng / groups, g = ng % groups;
                double rs = rstd[ng];
                double sumG = 0, sumGx = 0;
                for (int ch = g * cpg; ch < (g + 1) * cpg; ch++) {
                    double ga = gamma == null ? 1 : gamma[ch];
                    sumG += ga * sumGy[b * c + ch];
                    sumGx += ga * sumGyX[b * c + ch] * rs;
                }
                // gx = rs * (gy*gamma - mean(gy*gamma) - xhat * mean(gy*gamma*xhat)), expanded per channel.
                float slopeX = (float) (-rs * rs * sumGx / len), offset = (float) (-rs * sumG / len);
                for (int ch = g * cpg; ch < (g + 1) * cpg; ch++) {
                    float slopeG = (float) (rs * (gamma == null ? 1 : gamma[ch]));
                    inputGradient(gy, x, gx, (b * c + ch) * spatial, spatial, mean[ng], slopeG, slopeX, offset);
                }
            }
        });
        for (int ch = 0; ch < c; ch++) {
            double sg = 0, sb = 0;
            for (int b = 0; b < n; b++) {
                sg += sumGyX[b * c + ch] * rstd[b * groups + ch / cpg];
                sb += sumGy[b * c + ch];
            }
            if (gGamma != null) gGamma[ch] = (float) sg;
            if (gBeta != null) gBeta[ch] = (float) sb;
        }
    }

    /** Layer norm over the last dimension of x [rows, cols]; mean/rstd receive [rows]. */
    public static void layerNorm(float[] x, int rows, int cols, float[] gamma, float[] beta, float eps,
                                 float[] y, float[] mean, float[] rstd) {
        float[] ga = gamma != null ? gamma : filled(cols, 1f);
        float[] be = beta != null ? beta : filled(cols, 0f);
        int bound = F.loopBound(cols);
        Parallel.forRange(rows, Math.max(1, 16384 / Math.max(1, cols)), (lo, hi) -> {
            for (int r = lo; r < hi; r++) {
                int off = r * cols;
                float mu = (float) (VectorSums.sum(x, off, cols) / cols);
                float rs = (float) (1.0 / Math.sqrt(VectorSums.sumSquaredDeviation(x, off, cols, mu) / cols + eps));
                mean[r] = mu;
                rstd[r] = rs;
                var muV = FloatVector.broadcast(F, mu);
                int i = 0;
                for (; i < bound; i += F.length()) {
                    var xh = FloatVector.fromArray(F, x, off + i).sub(muV).mul(rs);
                    xh.fma(FloatVector.fromArray(F, ga, i), FloatVector.fromArray(F, be, i)).intoArray(y, off + i);
                }
                for (; i < cols; i++) {
                    y[off + i] = (x[off + i] - mu) * rs * ga[i] + be[i];
                }
            }
        });
    }

    /** Gradients of layer norm; gGamma/gBeta (may be null) are overwritten. */
    public static void layerNormBackward(float[] gy, float[] x, float[] mean, float[] rstd, float[] gamma,
                                         int rows, int cols, float[] gx, float[] gGamma, float[] gBeta) {
        float[] ga = gamma != null ? gamma : filled(cols, 1f);
        int bound = F.loopBound(cols);
        Parallel.forRange(rows, Math.max(1, 8192 / Math.max(1, cols)), (lo, hi) -> {
            float[] gh = new float[cols];
            for (int r = lo; r < hi; r++) {
                int off = r * cols;
                float mu = mean[r];
                double rs = rstd[r];
                int i = 0;
                for (; i < bound; i += F.length()) {
                    FloatVector.fromArray(F, gy, off + i).mul(FloatVector.fromArray(F, ga, i)).intoArray(gh, i);
                }
                for (; i < cols; i++) {
                    gh[i] = gy[off + i] * ga[i];
                }
                double sumG = VectorSums.sum(gh, 0, cols);
                double sumGx = VectorSums.dotCentered(gh, 0, x, off, cols, mu) * rs;
                float slopeX = (float) (-rs * rs * sumGx / cols), offset = (float) (-rs * sumG / cols);
                float slopeG = (float) rs;
                var muV = FloatVector.broadcast(F, mu);
                for (i = 0; i < bound; i += F.length()) {
                    var xc = FloatVector.fromArray(F, x, off + i).sub(muV);
                    FloatVector.fromArray(F, gh, i).mul(slopeG).add(xc.mul(slopeX)).add(offset).intoArray(gx, off + i);
                }
                for (; i < cols; i++) {
                    gx[off + i] = gh[i] * slopeG + (x[off + i] - mu) * slopeX + offset;
                }
            }
        });
        if (gGamma != null || gBeta != null) {
            affineGradients(gy, x, mean, rstd, rows, cols, gGamma, gBeta);
        }
    }

    /** Softmax over the last dimension of x [rows, cols]. */
    public static void softmax(float[] x, int rows, int cols, float[] y) {
        int bound = F.loopBound(cols);
        Parallel.forRange(rows, Math.max(1, 8192 / Math.max(1, cols)), (lo, hi) -> {
            for (int r = lo; r < hi; r++) {
                int off = r * cols;
                var maxV = FloatVector.broadcast(F, Float.NEGATIVE_INFINITY);
                int i = 0;
                for (; i < bound; i += F.length()) {
                    maxV = maxV.max(FloatVector.fromArray(F, x, off + i));
                }
                float max = maxV.reduceLanes(VectorOperators.MAX);
                for (; i < cols; i++) {
                    max = Math.max(max, x[off + i]);
                }
                for (i = 0; i < bound; i += F.length()) {
                    VectorMath.exp(FloatVector.fromArray(F, x, off + i).sub(max)).intoArray(y, off + i);
                }
                for (; i < cols; i++) {
                    y[off + i] = (float) Math.exp(x[off + i] - max);
                }
                float inv = (float) (1.0 / VectorSums.sum(y, off, cols));
                for (i = 0; i < bound; i += F.length()) {
                    FloatVector.fromArray(F, y, off + i).mul(inv).intoArray(y, off + i);
                }
                for (; i < cols; i++) {
                    y[off + i] *= inv;
                }
            }
        });
    }

    /** gx = y * (gy - sum(gy * y)) per row. */
    public static void softmaxBackward(float[] gy, float[] y, int rows, int cols, float[] gx) {
        int bound = F.loopBound(cols);
        Parallel.forRange(rows, Math.max(1, 8192 / Math.max(1, cols)), (lo, hi) -> {
            for (int r = lo; r < hi; r++) {
                int off = r * cols;
                float dot = (float) VectorSums.dot(gy, off, y, off, cols);
                int i = 0;
                for (; i < bound; i += F.length()) {
                    var yv = FloatVector.fromArray(F, y, off + i);
                    FloatVector.fromArray(F, gy, off + i).sub(dot).mul(yv).intoArray(gx, off + i);
                }
                for (; i < cols; i++) {
                    gx[off + i] = y[off + i] * (gy[off + i] - dot);
                }
            }
        });
    }

    /** y = (x - mu) * scale + shift over [off, off+len). */
    private static void affine(float[] x, float[] y, int off, int len, float mu, float scale, float shift) {
        var muV = FloatVector.broadcast(F, mu);
        int bound = F.loopBound(len), i = 0;
        for (; i < bound; i += F.length()) {
            FloatVector.fromArray(F, x, off + i).sub(muV).fma(scale, shift).intoArray(y, off + i);
        }
        for (; i < len; i++) {
            y[off + i] = (x[off + i] - mu) * scale + shift;
        }
    }

    /** gx = gy * slopeG + (x - mu) * slopeX + offset over [off, off+len). */
    private static void inputGradient(float[] gy, float[] x, float[] gx, int off, int len, float mu,
                                      float slopeG, float slopeX, float offset) {
        var muV = FloatVector.broadcast(F, mu);
        int bound = F.loopBound(len), i = 0;
        for (; i < bound; i += F.length()) {
            var xc = FloatVector.fromArray(F, x, off + i).sub(muV);
            FloatVector.fromArray(F, gy, off + i).mul(slopeG).add(xc.mul(slopeX)).add(offset).intoArray(gx, off + i);
        }
        for (; i < len; i++) {
            gx[off + i] = gy[off + i] * slopeG + (x[off + i] - mu) * slopeX + offset;
        }
    }

    /**
     * Column sums gGamma[j] = sum_r gy * xhat and gBeta[j] = sum_r gy for layer norm. Each task owns a band of
     * columns and walks the rows in order (cache friendly); float partials over {@code ROWS_PER_FLUSH} rows are
     * flushed into double totals.
     */
    private static void affineGradients(float[] gy, float[] x, float[] mean, float[] rstd, int rows, int cols,
                                        float[] gGamma, float[] gBeta) {
        final int band = 16 * F.length(), rowsPerFlush = 16;
        int bands = Math.ceilDiv(cols, band);
        Parallel.forRange(bands, 1, (lo, hi) -> {
            float[] pg = new float[band], pb = new float[band];
            double[] sg = new double[band], sb = new double[band];
            for (int bi = lo; bi < hi; bi++) {
                int c0 = bi * band, width = Math.min(band, cols - c0), vecEnd = F.loopBound(width);
                Arrays.fill(sg, 0);
                Arrays.fill(sb, 0);
                for (int r0 = 0; r0 < rows; r0 += rowsPerFlush) {
                    Arrays.fill(pg, 0f);
                    Arrays.fill(pb, 0f);
                    for (int r = r0; r < Math.min(rows, r0 + rowsPerFlush); r++) {
                        int off = r * cols + c0;
                        float mu = mean[r], rs = rstd[r];
                        int j = 0;
                        for (; j < vecEnd; j += F.length()) {
                            var g = FloatVector.fromArray(F, gy, off + j);
                            var xh = FloatVector.fromArray(F, x, off + j).sub(mu).mul(rs);
                            FloatVector.fromArray(F, pb, j).add(g).intoArray(pb, j);
                            g.fma(xh, FloatVector.fromArray(F, pg, j)).intoArray(pg, j);
                        }
                        for (; j < width; j++) {
                            pb[j] += gy[off + j];
                            pg[j] += gy[off + j] * (x[off + j] - mu) * rs;
                        }
                    }
                    for (int j = 0; j < width; j++) {
                        sg[j] += pg[j];
                        sb[j] += pb[j];
                    }
                }
                for (int j = 0; j < width; j++) {
                    if (gGamma != null) gGamma[c0 + j] = (float) sg[j];
                    if (gBeta != null) gBeta[c0 + j] = (float) sb[j];
                }
            }
        });
    }

    private static float[] filled(int n, float value) {
        float[] a = new float[n];
        Arrays.fill(a, value);
        return a;
    }

    private static void requireGroups(int c, int groups) {
        if (groups <= 0 || c % groups != 0) {
            throw new IllegalArgumentException("groupNorm: " + c + " channels are not divisible into " + groups
                    + " groups");
        }
    }
}
