package io.texforce.tensor.cpu;

import static io.texforce.tensor.cpu.GemmMicroKernel.MR;
import static io.texforce.tensor.cpu.GemmMicroKernel.NR;
import static io.texforce.tensor.cpu.GemmMicroKernel.VL;

import java.util.Arrays;
import jdk.incubator.vector.FloatVector;
import jdk.incubator.vector.VectorOperators;
import jdk.incubator.vector.VectorSpecies;

/**
 * One worker of the blocked attention forward pass: for a block of up to {@link #QUERY_BLOCK} queries of one head
 * it walks the keys in blocks of {@link #KEY_BLOCK}, keeping a running maximum and sum per query (online softmax)
 * and rescaling the output accumulator whenever the maximum grows. Only a [keys x queries] block of scores ever
 * exists. Not thread-safe: each thread uses its own instance, whose buffers are reused across blocks.
 *
 * <p>The block works on transposed scores, {@code S^T = K Q^T}, and a transposed output, {@code O^T += V^T P^T},
 * with queries along the SIMD lanes. Why: both products then have exactly the operand layout of the GEMM
 * micro-kernel (keys and values packed once per call in {@link #MR}-row strips, queries in {@link #NR}-wide
 * strips), which runs near the machine's peak; and the softmax becomes purely vertical, element-wise max, exp and
 * sum down the key rows with one running maximum per lane, without any horizontal reduction.
 */
final class FlashAttentionForward {
    /** Queries per block; a multiple of {@link GemmMicroKernel#NR} for every vector width up to 512 bits. */
    static final int QUERY_BLOCK = 64;
    /** Keys per block; a multiple of {@link GemmMicroKernel#MR}. */
    static final int KEY_BLOCK = 16 * MR;
    private static final VectorSpecies<Float> F = GemmMicroKernel.SPECIES;

    private final float[] q, keys, values;
    private final int nq, nk, d, dv, dvPacked, keysPadded;
    private final float scale;
    private final boolean causal;

    /** The query block times scale, transposed in NR-wide strips: [QUERY_BLOCK / NR][d][NR]. */
    private final float[] queriesT;
    /** Scores, then probabilities, transposed: [QUERY_BLOCK / NR][KEY_BLOCK][NR]. */
    private final float[] scoresT = new float[QUERY_BLOCK * KEY_BLOCK];
    /** Unnormalised output, transposed: [QUERY_BLOCK / NR][dvPacked][NR]. */
    private final float[] accT;
    private final float[] rowMax = new float[QUERY_BLOCK];
    private final float[] rowSum = new float[QUERY_BLOCK];

    /** {@code keys} and {@code values} hold the strips built by {@link #packKeys} and {@link #packValues}. */
    FlashAttentionForward(float[] q, float[] keys, float[] values, int nq, int nk, int d, int dv, float scale,
                          boolean causal) {
        this.q = q;
        this.keys = keys;
        this.values = values;
        this.nq = nq;
        this.nk = nk;
        this.d = d;
        this.dv = dv;
        this.dvPacked = AttentionBlocks.paddedColumns(dv, MR);
        this.keysPadded = Math.ceilDiv(nk, KEY_BLOCK) * KEY_BLOCK;
        this.scale = scale;
        this.causal = causal;
        this.queriesT = new float[QUERY_BLOCK * d];
        this.accT = new float[QUERY_BLOCK * dvPacked];
    }

    /** Keys of all heads packed by {@link AttentionBlocks#rowStrips} in MR-key strips, padded to whole blocks. */
    static float[] packKeys(float[] k, int bh, int nk, int d) {
        return AttentionBlocks.rowStrips(k, bh, nk, d, MR, Math.ceilDiv(nk, KEY_BLOCK) * KEY_BLOCK);
    }

    /** Values of all heads packed by {@link AttentionBlocks#columnStrips} in MR-column strips. */
    static float[] packValues(float[] v, int bh, int nk, int dv) {
        return AttentionBlocks.columnStrips(v, bh, nk, dv, MR, Math.ceilDiv(nk, KEY_BLOCK) * KEY_BLOCK);
    }

    /** Computes out and lse for queries [i0, i0+m) of head h. */
    void run(int h, int i0, int m, float[] out, float[] lse) {
        int strips = Math.ceilDiv(m, NR);
        packQueries(h, i0, m, strips);
        Arrays.fill(accT, 0, strips * dvPacked * NR, 0f);
        Arrays.fill(rowMax, Float.NEGATIVE_INFINITY);
        Arrays.fill(rowSum, 0f);
        int keyEnd = causal ? Math.min(nk, i0 + m) : nk;
        for (int j0 = 0; j0 < keyEnd; j0 += KEY_BLOCK) {
            int kn = Math.min(KEY_BLOCK, keyEnd - j0), keyStrips = Math.ceilDiv(kn, MR);
            int keyBase = (h * keysPadded + j0) * d, valueBase = h * dvPacked * keysPadded + j0 * MR;
            for (int s = 0; s < strips; s++) {
                for (int t = 0; t < keyStrips; t++) {
                    GemmMicroKernel.tile(d, keys, keyBase + t * d * MR, queriesT, s * d * NR,
                            scoresT, (s * KEY_BLOCK + t * MR) * NR, NR, false);
                }
                if (causal) {
                    maskFutureKeys(s, i0, j0, kn);
                }
                for (int lane = 0; lane < NR; lane += VL) {
                    updateSoftmax(s, lane, kn);
                }
                for (int t = 0; t < dvPacked / MR; t++) {
                    GemmMicroKernel.tile(kn, values, valueBase + t * keysPadded * MR, scoresT, s * KEY_BLOCK * NR,
                            accT, (s * dvPacked + t * MR) * NR, NR, true);
                }
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
            float inv = 1f / sum;
            int col0 = (r / NR * dvPacked) * NR + r % NR;
            for (int c = 0; c < dv; c++) {
                out[row * dv + c] = accT[col0 + c * NR] * inv;
            }
            lse[row] = rowMax[r] + (float) Math.log(sum);
        }
    }

    /** Transposes and scales queries [i0, i0+m) into NR-wide strips, zeroing the lanes past m. */
    private void packQueries(int h, int i0, int m, int strips) {
        if (m < strips * NR) {
            Arrays.fill(queriesT, 0, strips * d * NR, 0f);
        }
        for (int r = 0; r < m; r++) {
            int src = (h * nq + i0 + r) * d, dst = r / NR * d * NR + r % NR;
            for (int p = 0; p < d; p++) {
                queriesT[dst + p * NR] = q[src + p] * scale;
            }
        }
    }

    /** Sets the scores of keys after each query (causal attention) in strip s to -inf. */
    private void maskFutureKeys(int s, int i0, int j0, int kn) {
        int firstQuery = i0 + s * NR;
        for (int j = Math.max(0, firstQuery + 1 - j0); j < kn; j++) {
            int maskedLanes = Math.min(NR, j0 + j - firstQuery);
            int o = (s * KEY_BLOCK + j) * NR;
            Arrays.fill(scoresT, o, o + maskedLanes, Float.NEGATIVE_INFINITY);
        }
    }

    /**
     * Turns the scores of the VL queries at lane offset {@code lane} of strip s into probabilities relative to the
     * updated running maximum, and rescales their running sums and output accumulators to that maximum.
     */
    private void updateSoftmax(int s, int lane, int kn) {
        int q0 = s * NR + lane, first = s * KEY_BLOCK * NR + lane;
        int end = first + kn * NR;
        var blockMax = FloatVector.broadcast(F, Float.NEGATIVE_INFINITY);
        for (int o = first; o < end; o += NR) {
            blockMax = blockMax.max(FloatVector.fromArray(F, scoresT, o));
        }
        var previous = FloatVector.fromArray(F, rowMax, q0);
        var max = previous.max(blockMax);
        // A query that has seen only masked keys keeps a maximum of -inf; subtracting 0 instead keeps its
        // probabilities at exp(-inf) = 0 rather than NaN.
        var shift = max.blend(0f, max.compare(VectorOperators.EQ, Float.NEGATIVE_INFINITY));
        var sum = FloatVector.zero(F);
        for (int o = first; o < end; o += NR) {
            var p = VectorMath.exp(FloatVector.fromArray(F, scoresT, o).sub(shift));
            p.intoArray(scoresT, o);
            sum = sum.add(p);
        }
        var correction = VectorMath.exp(previous.sub(shift));
        max.intoArray(rowMax, q0);
        FloatVector.fromArray(F, rowSum, q0).fma(correction, sum).intoArray(rowSum, q0);
        for (int o = s * dvPacked * NR + lane, accEnd = o + dvPacked * NR; o < accEnd; o += NR) {
            FloatVector.fromArray(F, accT, o).mul(correction).intoArray(accT, o);
        }
    }
}
