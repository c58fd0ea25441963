package io.texforce.tensor.cpu;

import java.util.Arrays;

/**
 * Scaled dot-product attention over {@code bh} independent heads: q [bh, nq, d], k [bh, nk, d], v [bh, nk, dv],
 * out [bh, nq, dv]. {@code lse[bh, nq]} receives the log-sum-exp of each row of scaled scores, which is all the
 * backward pass needs to rebuild the probabilities. With {@code causal}, query i sees keys j <= i.
 *
 * <p>Both passes are blocked in the FlashAttention manner ({@link FlashAttentionForward},
 * {@link FlashAttentionBackward}): memory beyond the inputs and outputs is a few small blocks per thread, never an
 * [nq, nk] score matrix.
 */
public final class AttentionKernel {
    private AttentionKernel() {
    }

    public static void forward(float[] q, float[] k, float[] v, int bh, int nq, int nk, int d, int dv,
                               float scale, boolean causal, float[] out, float[] lse) {
        requireShapes(bh, nq, nk, d, dv);
        require("q", q, bh, nq, d);
        require("k", k, bh, nk, d);
        require("v", v, bh, nk, dv);
        require("out", out, bh, nq, dv);
        require("lse", lse, bh, nq, 1);
        int block = FlashAttentionForward.QUERY_BLOCK, queryBlocks = Math.ceilDiv(nq, block);
        float[] keys = FlashAttentionForward.packKeys(k, bh, nk, d);
        float[] values = FlashAttentionForward.packValues(v, bh, nk, dv);
        Parallel.forRange(bh * queryBlocks, 1, (lo, hi) -> {
            var worker = new FlashAttentionForward(q, keys, values, nq, nk, d, dv, scale, causal);
            for (int t = lo; t < hi; t++) {
                int h = t / queryBlocks, i0 = t % queryBlocks * block;
                worker.run(h, i0, Math.min(block, nq - i0), out, lse);
            }
        });
    }

    /** Gradients gq, gk, gv (overwritten) of sum(out * gOut). */
    public static void backward(float[] q, float[] k, float[] v, float[] out, float[] gOut, float[] lse,
                                int bh, int nq, int nk, int d, int dv, float scale, boolean causal,
                                float[] gq, float[] gk, float[] gv) {
        requireShapes(bh, nq, nk, d, dv);
        require("q", q, bh, nq, d);
        require("k", k, bh, nk, d);
        require("v", v, bh, nk, dv);
        require("out", out, bh, nq, dv);
        require("gOut", gOut, bh, nq, dv);
        require("lse", lse, bh, nq, 1);
        require("gq", gq, bh, nq, d);
        require("gk", gk, bh, nk, d);
        require("gv", gv, bh, nk, dv);
        float[] delta = new float[bh * nq];
        Parallel.forRange(bh * nq, Math.max(1, 4096 / Math.max(1, dv)), (lo, hi) -> {
            for (int r = lo; r < hi; r++) {
                delta[r] = (float) VectorSums.dot(gOut, r * dv, out, r * dv, dv);
            }
        });
        int keyBlocks = Math.ceilDiv(nk, FlashAttentionBackward.KEY_BLOCK);
        if (keyBlocks == 0) {
            Arrays.fill(gq, 0, bh * nq * d, 0f);
            return;
        }
        var operands = FlashAttentionBackward.Operands.pack(q, k, v, gOut, bh, nq, nk, d, dv);
        // Each task owns a run of key blocks of one head and is the only writer of their gk/gv rows. Heads alone
        // usually give enough tasks; with fewer heads than threads the key blocks of a head are split too, and
        // every split after the first writes its query gradients into a private buffer that is summed at the end.
        int splits = Math.min(keyBlocks, Math.max(1, Math.ceilDiv(2 * Parallel.threads(), bh)));
        int headFloats = nq * d;
        float[][] gqParts = new float[splits][];
        gqParts[0] = gq;
        for (int s = 1; s < splits; s++) {
            gqParts[s] = new float[bh * headFloats];
        }
        Parallel.forRange(bh * splits, 1, (lo, hi) -> {
            var worker = new FlashAttentionBackward(operands, lse, delta, nq, nk, d, dv, scale, causal);
            for (int t = lo; t < hi; t++) {
                int h = t / splits, s = t % splits;
                worker.run(h, s * keyBlocks / splits, (s + 1) * keyBlocks / splits, gqParts[s], h * headFloats,
                        gk, gv);
            }
        });
        if (splits > 1) {
            int total = bh * headFloats;
            Parallel.forRange(total, 16384, (lo, hi) -> {
                for (int s = 1; s < splits; s++) {
                    AttentionBlocks.addInto(gqParts[s], lo, gq, lo, hi - lo);
                }
            });
        }
    }

    private static void requireShapes(int bh, int nq, int nk, int d, int dv) {
        if (bh < 0 || nq < 0 || nk < 0 || d <= 0 || dv <= 0) {
            throw new IllegalArgumentException("attention: invalid shape bh=" + bh + " nq=" + nq + " nk=" + nk
                    + " d=" + d + " dv=" + dv);
        }
    }

    private static void require(String name, float[] a, int bh, int rows, int cols) {
        long need = (long) bh * rows * cols;
        if (a.length < need) {
            throw new IllegalArgumentException("attention: " + name + " has " + a.length + " floats, needs " + need
                    + " for [" + bh + ", " + rows + ", " + cols + "]");
        }
    }
}
