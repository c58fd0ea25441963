package io.texforce.tensor.cpu;

import jdk.incubator.vector.FloatVector;
import jdk.incubator.vector.VectorSpecies;

/**
 * The register-tiled inner kernel of {@link BlockedGemm}: an {@link #MR} x {@link #NR} tile of C from a packed
 * strip of A and a packed strip of B.
 *
 * <p>The tile is 5 rows by 2 vectors: each step of the inner loop does 10 fused multiply-adds for 2 vector loads
 * and 5 broadcasts, which keeps both FMA pipes of a core busy. A 6 x 2 tile would in theory also fit the 16 AVX2
 * registers, but C2 then spills accumulators and runs at half speed; 10 accumulators leave it enough room. They
 * are spelled out as locals because only locals reliably stay in registers after JIT compilation.
 */
final class GemmMicroKernel {
    static final VectorSpecies<Float> SPECIES = FloatVector.SPECIES_PREFERRED;
    static final int VL = SPECIES.length();
    /** Rows of C per tile. */
    static final int MR = 5;
    /** Columns of C per tile. */
    static final int NR = 2 * VL;

    private GemmMicroKernel() {
    }

    /**
     * Computes the full tile {@code C[0..MR, 0..NR) (+)= A B} where A is packed as {@code kc} columns of MR values
     * starting at {@code ao} and B as {@code kc} rows of NR values starting at {@code bo}.
     *
     * @param add whether to add to C rather than overwrite it
     */
    static void tile(int kc, float[] a, int ao, float[] b, int bo, float[] c, int co, int ldc, boolean add) {
        var s = SPECIES;
        FloatVector c00 = FloatVector.zero(s), c01 = FloatVector.zero(s);
        FloatVector c10 = FloatVector.zero(s), c11 = FloatVector.zero(s);
        FloatVector c20 = FloatVector.zero(s), c21 = FloatVector.zero(s);
        FloatVector c30 = FloatVector.zero(s), c31 = FloatVector.zero(s);
        FloatVector c40 = FloatVector.zero(s), c41 = FloatVector.zero(s);
        // Driving the loop by the A index itself (rather than p with ao + p * MR) matters: with an offset added to
        // the induction variable C2 generates code that runs at a third of the speed.
        for (int ai = ao, bi = bo, end = ao + kc * MR; ai < end; ai += MR, bi += NR) {
            var b0 = FloatVector.fromArray(s, b, bi);
            var b1 = FloatVector.fromArray(s, b, bi + VL);
            var av = FloatVector.broadcast(s, a[ai]);
            c00 = av.fma(b0, c00);
            c01 = av.fma(b1, c01);
            av = FloatVector.broadcast(s, a[ai + 1]);
            c10 = av.fma(b0, c10);
            c11 = av.fma(b1, c11);
            av = FloatVector.broadcast(s, a[ai + 2]);
            c20 = av.fma(b0, c20);
            c21 = av.fma(b1, c21);
            av = FloatVector.broadcast(s, a[ai + 3]);
            c30 = av.fma(b0, c30);
            c31 = av.fma(b1, c31);
            av = FloatVector.broadcast(s, a[ai + 4]);
            c40 = av.fma(b0, c40);
            c41 = av.fma(b1, c41);
        }
        storeRow(c00, c01, c, co, add);
        storeRow(c10, c11, c, co + ldc, add);
        storeRow(c20, c21, c, co + 2 * ldc, add);
        storeRow(c30, c31, c, co + 3 * ldc, add);
        storeRow(c40, c41, c, co + 4 * ldc, add);
    }

    /**
     * As {@link #tile}, but B is read in place from a row-major matrix with row stride {@code ldb} instead of a
     * packed strip: for the attention blocks, whose probability and score-gradient blocks serve directly as B.
     * The body repeats {@link #tile}'s on purpose: the GEMM's inner loop keeps its constant stride, and an A/B of
     * the two forms on a shared machine could not show whether delegating costs anything.
     */
    static void tile(int kc, float[] a, int ao, float[] b, int bo, int ldb, float[] c, int co, int ldc,
                     boolean add) {
        var s = SPECIES;
        FloatVector c00 = FloatVector.zero(s), c01 = FloatVector.zero(s);
        FloatVector c10 = FloatVector.zero(s), c11 = FloatVector.zero(s);
        FloatVector c20 = FloatVector.zero(s), c21 = FloatVector.zero(s);
        FloatVector c30 = FloatVector.zero(s), c31 = FloatVector.zero(s);
        FloatVector c40 = FloatVector.zero(s), c41 = FloatVector.zero(s);
        for (int ai = ao, bi = bo, end = ao + kc * MR; ai < end; ai += MR, bi += ldb) {
            var b0 = FloatVector.fromArray(s, b, bi);
            var b1 = FloatVector.fromArray(s, b, bi + VL);
            var av = FloatVector.broadcast(s, a[ai]);
            c00 = av.fma(b0, c00);
            c01 = av.fma(b1, c01);
            av = FloatVector.broadcast(s, a[ai + 1]);
            c10 = av.fma(b0, c10);
            c11 = av.fma(b1, c11);
            av = FloatVector.broadcast(s, a[ai + 2]);
            c20 = av.fma(b0, c20);
            c21 = av.fma(b1, c21);
            av = FloatVector.broadcast(s, a[ai + 3]);
            c30 = av.fma(b0, c30);
            c31 = av.fma(b1, c31);
            av = FloatVector.broadcast(s, a[ai + 4]);
            c40 = av.fma(b0, c40);
            c41 = av.fma(b1, c41);
        }
        storeRow(c00, c01, c, co, add);
        storeRow(c10, c11, c, co + ldc, add);
        storeRow(c20, c21, c, co + 2 * ldc, add);
        storeRow(c30, c31, c, co + 3 * ldc, add);
        storeRow(c40, c41, c, co + 4 * ldc, add);
    }

    private static void storeRow(FloatVector v0, FloatVector v1, float[] c, int o, boolean add) {
        if (add) {
            v0 = v0.add(FloatVector.fromArray(SPECIES, c, o));
            v1 = v1.add(FloatVector.fromArray(SPECIES, c, o + VL));
        }
        v0.intoArray(c, o);
        v1.intoArray(c, o + VL);
    }
}
