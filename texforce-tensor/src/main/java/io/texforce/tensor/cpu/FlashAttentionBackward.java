package io.texforce.tensor.cpu;

import static io.texforce.tensor.cpu.GemmMicroKernel.MR;
import static io.texforce.tensor.cpu.GemmMicroKernel.NR;

import java.util.Arrays;
import jdk.incubator.vector.FloatVector;
import jdk.incubator.vector.VectorSpecies;

/**
 * One worker of the blocked attention backward pass. For each block of keys of a head it visits every query
 * block that can see it, rebuilds the probabilities from the saved log-sum-exp ({@code P = exp(scale*q.k - lse)})
 * and accumulates the key and value gradients of the block locally, so the owner of a key block is the only
 * writer of its gk/gv rows. Query gradients accumulate in a per-head buffer that the caller's target receives at
 * the end. Not thread-safe: one instance per thread.
 *
 * <p>All five products run on the GEMM micro-kernel over operands packed once per call ({@link Operands}):
 * {@code S = Q K^T} and {@code dP = dO V^T} as [queries x keys] blocks, {@code dV^T += dO^T P} and
 * {@code dK^T += Q^T dS} with the probability and score-gradient blocks read in place as B, and
 * {@code dQ += dS K} from a packed copy of dS, the one per-block repacking left.
 */
final class FlashAttentionBackward {
    /** Queries per block: whole MR-row strips. */
    static final int QUERY_BLOCK = 16 * MR;
    /** Keys per block: whole NR-wide strips and whole MR-row strips. */
    static final int KEY_BLOCK = MR * NR;
    private static final VectorSpecies<Float> F = GemmMicroKernel.SPECIES;

    /**
     * The inputs in the strip layouts of {@link AttentionBlocks}, shared read-only by all workers: queries and
     * output gradients as MR-row strips (A of S and dP) and MR-column strips (A of dK^T and dV^T); keys and values
     * as NR-row strips (B of S and dP); keys as NR-column strips (B of dQ).
     */
    record Operands(float[] qRows, float[] gOutRows, float[] qColumns, float[] gOutColumns, float[] kRows,
                    float[] vRows, float[] kColumns, int queriesPadded, int keysPadded) {

        static Operands pack(float[] q, float[] k, float[] v, float[] gOut, int bh, int nq, int nk, int d, int dv) {
            int qp = Math.ceilDiv(nq, QUERY_BLOCK) * QUERY_BLOCK, kp = Math.ceilDiv(nk, KEY_BLOCK) * KEY_BLOCK;
            return new Operands(
                    AttentionBlocks.rowStrips(q, bh, nq, d, MR, qp),
                    AttentionBlocks.rowStrips(gOut, bh, nq, dv, MR, qp),
                    AttentionBlocks.columnStrips(q, bh, nq, d, MR, qp),
                    AttentionBlocks.columnStrips(gOut, bh, nq, dv, MR, qp),
                    AttentionBlocks.rowStrips(k, bh, nk, d, NR, kp),
                    AttentionBlocks.rowStrips(v, bh, nk, dv, NR, kp),
                    AttentionBlocks.columnStrips(k, bh, nk, d, NR, kp),
                    qp, kp);
        }
    }

    private final Operands ops;
    private final float[] lse, delta;
    private final int nq, nk, d, dv, dPadA, dvPadA, dPadB;
    private final float scale;
    private final boolean causal;

    /** Scores, then probabilities, [QUERY_BLOCK][KEY_BLOCK]. */
    private final float[] probs = new float[QUERY_BLOCK * KEY_BLOCK];
    /** dP, then dS = P * (dP - delta) * scale, [QUERY_BLOCK][KEY_BLOCK]. */
    private final float[] gradScores = new float[QUERY_BLOCK * KEY_BLOCK];
    /** dS in MR-row strips of [KEY_BLOCK][MR], the A operand of dQ. */
    private final float[] gradScoresPacked = new float[QUERY_BLOCK * KEY_BLOCK];
    /** Transposed key and value gradients of the current key block, [dPadA][KEY_BLOCK] and [dvPadA][KEY_BLOCK]. */
    private final float[] gkT, gvT;
    /** Query gradients of the current head, [queriesPadded][dPadB]. */
    private final float[] gqHead;

    /** {@code delta[row] = dot(gOut[row], out[row])}, the softmax-backward row term, precomputed per query. */
    FlashAttentionBackward(Operands ops, float[] lse, float[] delta, int nq, int nk, int d, int dv, float scale,
                           boolean causal) {
        this.ops = ops;
        this.lse = lse;
        this.delta = delta;
        this.nq = nq;
        this.nk = nk;
        this.d = d;
        this.dv = dv;
        this.dPadA = AttentionBlocks.paddedColumns(d, MR);
        this.dvPadA = AttentionBlocks.paddedColumns(dv, MR);
        this.dPadB = AttentionBlocks.paddedColumns(d, NR);
        this.scale = scale;
        this.causal = causal;
        gkT = new float[dPadA * KEY_BLOCK];
        gvT = new float[dvPadA * KEY_BLOCK];
        gqHead = new float[ops.queriesPadded() * dPadB];
    }

    /**
     * Overwrites gk and gv rows of key blocks [kbFrom, kbTo) of head h, and writes (not adds) those blocks'
     * contribution to the query gradients of head h into {@code gq} from {@code gqOff}.
     */
    void run(int h, int kbFrom, int kbTo, float[] gq, int gqOff, float[] gk, float[] gv) {
        Arrays.fill(gqHead, 0f);
        for (int kb = kbFrom; kb < kbTo; kb++) {
            int j0 = kb * KEY_BLOCK;
            keyBlock(h, j0, Math.min(KEY_BLOCK, nk - j0), gk, gv);
        }
        for (int r = 0; r < nq; r++) {
            System.arraycopy(gqHead, r * dPadB, gq, gqOff + r * d, d);
        }
    }

    private void keyBlock(int h, int j0, int kn, float[] gk, float[] gv) {
        int qp = ops.queriesPadded(), kp = ops.keysPadded();
        int keyStrips = Math.ceilDiv(kn, NR), width = keyStrips * NR;
        Arrays.fill(gkT, 0f);
        Arrays.fill(gvT, 0f);
        // Causal: query i sees key j only when j <= i, so queries before j0 never see this block.
        for (int i0 = causal ? j0 / QUERY_BLOCK * QUERY_BLOCK : 0; i0 < nq; i0 += QUERY_BLOCK) {
            int m = Math.min(QUERY_BLOCK, nq - i0), rows = Math.ceilDiv(m, MR) * MR;
            for (int r = 0; r < rows; r += MR) {
                int qa = (h * qp + i0 + r) * d, ga = (h * qp + i0 + r) * dv;
                for (int t = 0; t < width; t += NR) {
                    int kb = (h * kp + j0 + t) * d, vb = (h * kp + j0 + t) * dv;
                    GemmMicroKernel.tile(d, ops.qRows(), qa, ops.kRows(), kb, probs, r * KEY_BLOCK + t, KEY_BLOCK,
                            false);
                    GemmMicroKernel.tile(dv, ops.gOutRows(), ga, ops.vRows(), vb, gradScores, r * KEY_BLOCK + t,
                            KEY_BLOCK, false);
                }
            }
            for (int r = 0; r < rows; r++) {
                rowGradients(r, h * nq + i0, i0, j0, m, kn, width);
            }
            // gv^T += dO^T P and gk^T += q^T dS over this block's queries (rows past m are zero in P and dS).
            for (int c = 0; c < dvPadA; c += MR) {
                int a = h * dvPadA * qp + c * qp + i0 * MR;
                for (int t = 0; t < width; t += NR) {
                    GemmMicroKernel.tile(rows, ops.gOutColumns(), a, probs, t, KEY_BLOCK, gvT, c * KEY_BLOCK + t,
                            KEY_BLOCK, true);
                }
            }
            for (int c = 0; c < dPadA; c += MR) {
                int a = h * dPadA * qp + c * qp + i0 * MR;
                for (int t = 0; t < width; t += NR) {
                    GemmMicroKernel.tile(rows, ops.qColumns(), a, gradScores, t, KEY_BLOCK, gkT, c * KEY_BLOCK + t,
                            KEY_BLOCK, true);
                }
            }
            // gq += dS k.
            packRowStrips(rows, kn);
            for (int r = 0; r < rows; r += MR) {
                for (int c = 0; c < dPadB; c += NR) {
                    int b = h * dPadB * kp + c * kp + j0 * NR;
                    GemmMicroKernel.tile(kn, gradScoresPacked, r * KEY_BLOCK, ops.kColumns(), b,
                            gqHead, (i0 + r) * dPadB + c, dPadB, true);
                }
            }
        }
        for (int j = 0; j < kn; j++) {
            int keyRow = h * nk + j0 + j;
            for (int c = 0; c < d; c++) {
                gk[keyRow * d + c] = gkT[c * KEY_BLOCK + j];
            }
            for (int c = 0; c < dv; c++) {
                gv[keyRow * dv + c] = gvT[c * KEY_BLOCK + j];
            }
        }
    }

    /**
     * Row r of the block (lse/delta row firstRow + r): probs = exp(scale*s - lse) on the keys query i0+r sees, gradScores = probs*(dP - delta)*
     * scale, both zero on masked keys, padding keys and padding rows.
     */
    private void rowGradients(int r, int firstRow, int i0, int j0, int m, int kn, int width) {
        int so = r * KEY_BLOCK;
        int visible = r >= m ? 0 : causal ? Math.max(0, Math.min(kn, i0 + r + 1 - j0)) : kn;
        if (visible == 0) {
            Arrays.fill(probs, so, so + width, 0f);
            Arrays.fill(gradScores, so, so + width, 0f);
            return;
        }
        int row = firstRow + r;
        float rowLse = lse[row], rowDelta = delta[row];
        for (int j = 0; j < width; j += F.length()) {
            var p = VectorMath.exp(FloatVector.fromArray(F, probs, so + j).fma(scale, -rowLse));
            p.intoArray(probs, so + j);
            FloatVector.fromArray(F, gradScores, so + j).sub(rowDelta).mul(p).mul(scale).intoArray(gradScores, so + j);
        }
        if (visible < width) {
            Arrays.fill(probs, so + visible, so + width, 0f);
            Arrays.fill(gradScores, so + visible, so + width, 0f);
        }
    }

    /** Copies dS rows [0, rows) into MR-row strips of [kn][MR]. */
    private void packRowStrips(int rows, int kn) {
        for (int r0 = 0; r0 < rows; r0 += MR) {
            int dst = r0 * KEY_BLOCK;
            for (int i = 0; i < MR; i++) {
                int src = (r0 + i) * KEY_BLOCK;
                for (int j = 0; j < kn; j++) {
                    gradScoresPacked[dst + j * MR + i] = gradScores[src + j];
                }
            }
        }
    }
}
