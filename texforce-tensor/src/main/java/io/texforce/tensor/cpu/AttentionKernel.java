package io.texforce.tensor.cpu;

/**
 * Scaled dot-product attention over {@code bh} independent heads: q [bh, nq, d], k [bh, nk, d], v [bh, nk, dv],
 * out [bh, nq, dv]. {@code lse[bh, nq]} receives the log-sum-exp of each row of scaled scores, which is all the
 * backward pass needs to rebuild the probabilities. With {@code causal}, query i sees keys j <= i.
 */
public final class AttentionKernel {
    private AttentionKernel() {
    }

    public static void forward(float[] q, float[] k, float[] v, int bh, int nq, int nk, int d, int dv,
                               float scale, boolean causal, float[] out, float[] lse) {
        Parallel.forRange(bh * nq, 16, (lo, hi) -> {
            float[] s = new float[nk];
            for (int r = lo; r < hi; r++) {
                int h = r / nq, i = r % nq;
                int qo = r * d;
                int kv = causal ? Math.min(nk, i + 1) : nk;
                float max = Float.NEGATIVE_INFINITY;
                for (int j = 0; j < kv; j++) {
                    int ko = (h * nk + j) * d;
                    float dot = 0f;
                    for (int p = 0; p < d; p++) dot += q[qo + p] * k[ko + p];
                    s[j] = dot * scale;
                    max = Math.max(max, s[j]);
                }
                float sum = 0f;
                for (int j = 0; j < kv; j++) {
                    s[j] = (float) Math.exp(s[j] - max);
                    sum += s[j];
                }
                int oo = r * dv;
                for (int p = 0; p < dv; p++) out[oo + p] = 0f;
                for (int j = 0; j < kv; j++) {
                    float pj = s[j] / sum;
                    int vo = (h * nk + j) * dv;
                    for (int p = 0; p < dv; p++) out[oo + p] += pj * v[vo + p];
                }
                lse[r] = max + (float) Math.log(sum);
            }
        });
    }

    /** Gradients gq, gk, gv (overwritten) of sum(out * gOut). */
    public static void backward(float[] q, float[] k, float[] v, float[] out, float[] gOut, float[] lse,
                                int bh, int nq, int nk, int d, int dv, float scale, boolean causal,
                                float[] gq, float[] gk, float[] gv) {
        Parallel.forRange(bh, 1, (lo, hi) -> {
            float[] p = new float[nk];
            for (int h = lo; h < hi; h++) {
                java.util.Arrays.fill(gk, h * nk * d, (h + 1) * nk * d, 0f);
                java.util.Arrays.fill(gv, h * nk * dv, (h + 1) * nk * dv, 0f);
                for (int i = 0; i < nq; i++) {
                    int r = h * nq + i;
                    int qo = r * d, oo = r * dv;
                    int kv = causal ? Math.min(nk, i + 1) : nk;
                    float delta = 0f;
                    for (int t = 0; t < dv; t++) delta += gOut[oo + t] * out[oo + t];
                    for (int t = 0; t < d; t++) gq[qo + t] = 0f;
                    for (int j = 0; j < kv; j++) {
                        int ko = (h * nk + j) * d, vo = (h * nk + j) * dv;
                        float dot = 0f;
                        for (int t = 0; t < d; t++) dot += q[qo + t] * k[ko + t];
                        float pj = (float) Math.exp(dot * scale - lse[r]);
                        float dp = 0f;
                        for (int t = 0; t < dv; t++) {
                            dp += gOut[oo + t] * v[vo + t];
                            gv[vo + t] += pj * gOut[oo + t];
                        }
                        float ds = pj * (dp - delta) * scale;
                        for (int t = 0; t < d; t++) {
                            gq[qo + t] += ds * k[ko + t];
                            gk[ko + t] += ds * q[qo + t];
                        }
                    }
                }
            }
        });
    }
}
