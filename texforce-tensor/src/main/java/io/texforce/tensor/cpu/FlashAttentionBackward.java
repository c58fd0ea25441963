package io.texforce.tensor.cpu;

import java.util.Arrays;
import jdk.incubator.vector.FloatVector;
import jdk.incubator.vector.VectorOperators;
import jdk.incubator.vector.VectorSpecies;

/**
 * One worker of the blocked attention backward pass. For one block of keys it visits every query block that can
 * see it, rebuilds the probabilities from the saved log-sum-exp ({@code P = exp(scale*q.k - lse)}), and
 * accumulates the key and value gradients of the block locally, so the owner of a key block is the only writer of
 * its gk/gv rows. Query gradients are added to a target chosen by the caller. Not thread-safe: one instance per
 * thread.
 */
final class FlashAttentionBackward {
    static final int QUERY_BLOCK = 64;
    static final int KEY_BLOCK = 64;
    private static final VectorSpecies<Float> F = BlockMatmul.F;

    private final float[] q, k, v, gOut, lse, delta;
    private final int nq, nk, d, dv, dPad, dvPad;
    private final float scale;
    private final boolean causal;

    /** Key and value blocks transposed, [d][KEY_BLOCK] and [dv][KEY_BLOCK]. */
    private final float[] keysT, valuesT;
    /** Zero-padded row copies of k, q and gOut blocks; null when d (resp. dv) is already a SIMD multiple. */
    private final float[] keys, queries, gradOut;
    /** Probabilities [QUERY_BLOCK][KEY_BLOCK]. */
    private final float[] probs = new float[QUERY_BLOCK * KEY_BLOCK];
    /** dP, then dS = P * (dP - delta) * scale, [QUERY_BLOCK][KEY_BLOCK]. */
    private final float[] gradScores = new float[QUERY_BLOCK * KEY_BLOCK];
    /** Gradients of the key block's rows, accumulated over all query blocks, [KEY_BLOCK][dPad or dvPad]. */
    private final float[] gkBlock, gvBlock;
    /** dS k for one query block when it cannot be accumulated into gq in place. */
    private final float[] gqBlock;

    /** {@code delta[row] = dot(gOut[row], out[row])}, the softmax-backward row term, precomputed per query. */
    FlashAttentionBackward(float[] q, float[] k, float[] v, float[] gOut, float[] lse, float[] delta,
                           int nq, int nk, int d, int dv, float scale, boolean causal) {
        this.q = q;
        this.k = k;
        this.v = v;
        this.gOut = gOut;
        this.lse = lse;
        this.delta = delta;
        this.nq = nq;
        this.nk = nk;
        this.d = d;
        this.dv = dv;
        this.dPad = BlockMatmul.padded(d);
        this.dvPad = BlockMatmul.padded(dv);
        this.scale = scale;
        this.causal = causal;
        keysT = new float[d * KEY_BLOCK];
        valuesT = new float[dv * KEY_BLOCK];
        boolean alignedD = dPad == d;
        keys = alignedD ? null : new float[KEY_BLOCK * dPad];
        queries = alignedD ? null : new float[QUERY_BLOCK * dPad];
        gqBlock = alignedD ? null : new float[QUERY_BLOCK * dPad];
        gradOut = dvPad == dv ? null : new float[QUERY_BLOCK * dvPad];
        gkBlock = new float[KEY_BLOCK * dPad];
        gvBlock = new float[KEY_BLOCK * dvPad];
    }

    /**
     * Overwrites gk and gv rows [j0, j0+kn) of head h and adds this key block's contribution to the query
     * gradients of head h, whose row 0 is at {@code gq[gqOff]}.
     */
    void run(int h, int j0, int kn, float[] gq, int gqOff, float[] gk, float[] gv) {
        int width = BlockMatmul.padded(kn);
        int keyOff = (h * nk + j0) * d, valueOff = (h * nk + j0) * dv;
        AttentionBlocks.transposeRows(k, keyOff, kn, d, keysT, 0, KEY_BLOCK, width);
        AttentionBlocks.transposeRows(v, valueOff, kn, dv, valuesT, 0, KEY_BLOCK, width);
        // Row-major operands are read in place when their width is already a SIMD multiple, else via padded copies.
        boolean alignedD = dPad == d, alignedDv = dvPad == dv;
        if (!alignedD) {
            AttentionBlocks.copyRowsPadded(k, keyOff, kn, d, keys, dPad);
        }
        Arrays.fill(gkBlock, 0, kn * dPad, 0f);
        Arrays.fill(gvBlock, 0, kn * dvPad, 0f);
        // Causal: query i sees key j only when j <= i, so queries before j0 never see this block.
        for (int i0 = causal ? j0 : 0; i0 < nq; i0 += QUERY_BLOCK) {
            int m = Math.min(QUERY_BLOCK, nq - i0);
            int qOff = (h * nq + i0) * d, gOff = (h * nq + i0) * dv;
            BlockMatmul.multiply(m, width, d, q, qOff, d, 1, keysT, 0, KEY_BLOCK, probs, 0, KEY_BLOCK, false);
            BlockMatmul.multiply(m, width, dv, gOut, gOff, dv, 1, valuesT, 0, KEY_BLOCK,
                    gradScores, 0, KEY_BLOCK, false);
            for (int r = 0; r < m; r++) {
                int visible = causal ? Math.min(kn, i0 + r + 1 - j0) : kn;
                rowGradients(r, h * nq + i0 + r, visible, width);
            }
            // gv += P^T gOut and gk += dS^T q (the transposes are read in place).
            if (alignedDv) {
                BlockMatmul.multiply(kn, dv, m, probs, 0, 1, KEY_BLOCK, gOut, gOff, dv, gvBlock, 0, dv, true);
            } else {
                AttentionBlocks.copyRowsPadded(gOut, gOff, m, dv, gradOut, dvPad);
                BlockMatmul.multiply(kn, dvPad, m, probs, 0, 1, KEY_BLOCK, gradOut, 0, dvPad, gvBlock, 0, dvPad, true);
            }
            if (alignedD) {
                BlockMatmul.multiply(kn, d, m, gradScores, 0, 1, KEY_BLOCK, q, qOff, d, gkBlock, 0, d, true);
                // gq += dS k, straight into the caller's rows.
                BlockMatmul.multiply(m, d, kn, gradScores, 0, KEY_BLOCK, 1, k, keyOff, d,
                        gq, gqOff + i0 * d, d, true);
            } else {
                AttentionBlocks.copyRowsPadded(q, qOff, m, d, queries, dPad);
                BlockMatmul.multiply(kn, dPad, m, gradScores, 0, 1, KEY_BLOCK, queries, 0, dPad, gkBlock, 0, dPad, true);
                BlockMatmul.multiply(m, dPad, kn, gradScores, 0, KEY_BLOCK, 1, keys, 0, dPad, gqBlock, 0, dPad, false);
                for (int r = 0; r < m; r++) {
                    AttentionBlocks.addInto(gqBlock, r * dPad, gq, gqOff + (i0 + r) * d, d);
                }
            }
        }
        for (int j = 0; j < kn; j++) {
            System.arraycopy(gkBlock, j * dPad, gk, keyOff + j * d, d);
            System.arraycopy(gvBlock, j * dvPad, gv, valueOff + j * dv, dv);
        }
    }

    /** Row r: probs = exp(scale*s - lse) on visible keys (0 elsewhere); gradScores = probs*(dP - delta)*scale. */
    private void rowGradients(int r, int row, int visible, int width) {
        int so = r * KEY_BLOCK;
        if (visible < width) {
            Arrays.fill(probs, so + Math.max(0, visible), so + width, Float.NEGATIVE_INFINITY);
        }
        float rowLse = lse[row], rowDelta = delta[row];
        for (int j = 0; j < width; j += F.length()) {
            var p = VectorMath.exp(FloatVector.fromArray(F, probs, so + j).fma(scale, -rowLse));
            p.intoArray(probs, so + j);
            FloatVector.fromArray(F, gradScores, so + j).sub(rowDelta).mul(p).mul(scale).intoArray(gradScores, so + j);
        }
    }
}
