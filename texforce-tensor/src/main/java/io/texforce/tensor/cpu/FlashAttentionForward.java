package io.texforce.tensor.cpu;

import java.util.Arrays;
import jdk.incubator.vector.FloatVector;
import jdk.incubator.vector.VectorOperators;
import jdk.incubator.vector.VectorSpecies;

/**
 * One worker of the blocked attention forward pass: for a block of up to {@link #QUERY_BLOCK} queries of one head
 * it walks the keys in blocks of {@link #KEY_BLOCK}, keeping a running row maximum and row sum (online softmax) and
 * rescaling the output accumulator whenever the maximum grows. Only a [queries x keys] block of scores ever
 * exists. Not thread-safe: each thread uses its own instance, whose buffers are reused across blocks.
 */
final class FlashAttentionForward {
    static final int QUERY_BLOCK = 64;
    static final int KEY_BLOCK = 64;
    private static final VectorSpecies<Float> F = BlockMatmul.F;

    private final float[] q, keysT, v;
    private final int nq, nk, d, dv, dvPad;
    private final float scale;
    private final boolean causal;

    /** The query block times scale [QUERY_BLOCK][d], so scores come out already scaled. */
    private final float[] queries;
    /** Value block [KEY_BLOCK][dvPad], zero-padded to the SIMD width; unused when dv is already a multiple. */
    private final float[] values;
    /** Scores, then probabilities, [QUERY_BLOCK][KEY_BLOCK]. */
    private final float[] scores = new float[QUERY_BLOCK * KEY_BLOCK];
    /** Unnormalised output [QUERY_BLOCK][dvPad]. */
    private final float[] acc;
    private final float[] rowMax = new float[QUERY_BLOCK];
    private final float[] rowSum = new float[QUERY_BLOCK];

    /** {@code keysT} holds the key blocks as built by {@link AttentionBlocks#transposedKeyBlocks}. */
    FlashAttentionForward(float[] q, float[] keysT, float[] v, int nq, int nk, int d, int dv, float scale,
                          boolean causal) {
        this.q = q;
        this.keysT = keysT;
        this.v = v;
        this.nq = nq;
        this.nk = nk;
        this.d = d;
        this.dv = dv;
        this.dvPad = BlockMatmul.padded(dv);
        this.scale = scale;
        this.causal = causal;
        this.queries = new float[QUERY_BLOCK * d];
        this.values = dvPad == dv ? null : new float[KEY_BLOCK * dvPad];
        this.acc = new float[QUERY_BLOCK * dvPad];
    }

    /** Computes out and lse for queries [i0, i0+m) of head h. */
    void run(int h, int i0, int m, float[] out, float[] lse) {
        Arrays.fill(acc, 0, m * dvPad, 0f);
        Arrays.fill(rowMax, 0, m, Float.NEGATIVE_INFINITY);
        Arrays.fill(rowSum, 0, m, 0f);
        AttentionBlocks.scaleInto(q, (h * nq + i0) * d, scale, queries, 0, m * d);
        int keyBlocks = Math.ceilDiv(nk, KEY_BLOCK);
        int keyEnd = causal ? Math.min(nk, i0 + m) : nk;
        for (int j0 = 0; j0 < keyEnd; j0 += KEY_BLOCK) {
            int kn = Math.min(KEY_BLOCK, keyEnd - j0), width = BlockMatmul.padded(kn);
            int panel = (h * keyBlocks + j0 / KEY_BLOCK) * d * KEY_BLOCK;
            BlockMatmul.multiply(m, width, d, queries, 0, d, 1, keysT, panel, KEY_BLOCK, scores, 0, KEY_BLOCK, false);
            for (int r = 0; r < m; r++) {
                int visible = causal ? Math.min(kn, i0 + r + 1 - j0) : kn;
                updateRow(r, visible, kn, width);
            }
            if (values == null) {
                BlockMatmul.multiply(m, dv, kn, scores, 0, KEY_BLOCK, 1, v, (h * nk + j0) * dv, dv,
                        acc, 0, dvPad, true);
            } else {
                AttentionBlocks.copyRowsPadded(v, (h * nk + j0) * dv, kn, dv, values, dvPad);
                BlockMatmul.multiply(m, dvPad, kn, scores, 0, KEY_BLOCK, 1, values, 0, dvPad, acc, 0, dvPad, true);
            }
        }
        for (int r = 0; r < m; r++) {
            int row = h * nq + i0 + r;
            float sum = rowSum[r];
            if (sum == 0f) {
                Arrays.fill(out, row * dv, (row + 1) * dv, 0f);
                lse[row] = Float.NEGATIVE_INFINITY;
                continue;
            }
            AttentionBlocks.scaleInto(acc, r * dvPad, 1f / sum, out, row * dv, dv);
            lse[row] = rowMax[r] + (float) Math.log(sum);
        }
    }

    /**
     * Turns score row r into probabilities relative to the updated running maximum, and rescales the row's
     * running sum and output accumulator to that maximum. Keys from {@code visible} on are masked.
     */
    private void updateRow(int r, int visible, int kn, int width) {
        int so = r * KEY_BLOCK;
        if (visible <= 0) {
            Arrays.fill(scores, so, so + kn, 0f);
            return;
        }
        if (visible < width) {
            Arrays.fill(scores, so + visible, so + width, Float.NEGATIVE_INFINITY);
        }
        var maxV = FloatVector.fromArray(F, scores, so);
        for (int j = F.length(); j < width; j += F.length()) {
            maxV = maxV.max(FloatVector.fromArray(F, scores, so + j));
        }
        float previous = rowMax[r];
        float max = Math.max(previous, maxV.reduceLanes(VectorOperators.MAX));
        var sumV = FloatVector.zero(F);
        for (int j = 0; j < width; j += F.length()) {
            var p = VectorMath.exp(FloatVector.fromArray(F, scores, so + j).sub(max));
            p.intoArray(scores, so + j);
            sumV = sumV.add(p);
        }
        float blockSum = VectorMath.sum(sumV);
        rowMax[r] = max;
        if (previous == max) {
            rowSum[r] += blockSum;
            return;
        }
        float correction = (float) Math.exp(previous - max);
        rowSum[r] = rowSum[r] * correction + blockSum;
        AttentionBlocks.scaleInto(acc, r * dvPad, correction, acc, r * dvPad, dvPad);
    }
}
