package io.texforce.tensor.cpu;

import static io.texforce.tensor.cpu.GemmMicroKernel.MR;
import static io.texforce.tensor.cpu.GemmMicroKernel.NR;
import static io.texforce.tensor.cpu.GemmMicroKernel.VL;

/**
 * Single-precision general matrix multiply on row-major arrays: {@code C = op(A) op(B) (+ C)}.
 *
 * <p>op(A) is M x K: A is stored [M, K] with row stride {@code lda}, or [K, M] when {@code transA}. op(B) is K x N:
 * B is stored [K, N] with row stride {@code ldb}, or [N, K] when {@code transB}. C is [M, N] with row stride
 * {@code ldc}. With {@code accumulate} the product is added to C, otherwise C is overwritten (also when K = 0).
 *
 * <p>Large products run the packed, cache-blocked SIMD algorithm of {@link BlockedGemm}, split into row (or
 * column) ranges over {@link Parallel}'s threads; small or very thin ones take an unpacked path.
 */
public final class Gemm {
    /** Multiply-adds below which packing costs more than it saves. */
    private static final long SMALL_WORK = 32L * 32 * 32;
    /** Multiply-adds worth a parallel task of their own (tens of microseconds of work). */
    private static final long TASK_WORK = 1L << 18;

    private Gemm() {
    }

    /** {@code C = op(A) op(B)}, or {@code C += op(A) op(B)} with {@code accumulate}; see the class comment. */
    public static void sgemm(boolean transA, boolean transB, int m, int n, int k,
                             float[] a, int aOff, int lda,
                             float[] b, int bOff, int ldb,
                             float[] c, int cOff, int ldc, boolean accumulate) {
        multiply(new GemmProblem(transA, transB, m, n, k, a, aOff, lda, b, bOff, ldb, c, cOff, ldc, accumulate));
    }

    /**
     * {@code batch} independent products; matrix b of the batch starts at {@code xOff + b * strideX}. A stride of 0
     * shares one operand across the batch (e.g. a weight matrix); a C stride of 0 with {@code accumulate} sums all
     * products into one C.
     */
    public static void sgemmBatched(int batch, boolean transA, boolean transB, int m, int n, int k,
                                    float[] a, int aOff, int lda, int strideA,
                                    float[] b, int bOff, int ldb, int strideB,
                                    float[] c, int cOff, int ldc, int strideC, boolean accumulate) {
        gemmBatched(batch, transA, transB, m, n, k, a, null, aOff, lda, strideA, b, null, bOff, ldb, strideB,
                c, cOff, ldc, strideC, accumulate);
    }

    /**
     * {@link #sgemmBatched} where A or B (not both) may be a 16-bit weight: pass either its float array or its
     * {@link HalfStorage} (the other null); offsets, leading dimensions and strides then count 16-bit elements.
     * The kernels widen 16-bit elements while packing and accumulate in float32, so the result equals the float32
     * product of the widened operands and no float32 copy of the weight is made.
     */
    public static void gemmBatched(int batch, boolean transA, boolean transB, int m, int n, int k,
                                   float[] a, HalfStorage aHalf, int aOff, int lda, int strideA,
                                   float[] b, HalfStorage bHalf, int bOff, int ldb, int strideB,
                                   float[] c, int cOff, int ldc, int strideC, boolean accumulate) {
        if (batch <= 0) {
            return;
        }
        long work = (long) m * n * k;
        long footprintC = m == 0 || n == 0 ? 0 : (long) (m - 1) * ldc + n;
        boolean disjointC = Math.abs((long) strideC) >= footprintC;
        // Splitting across the batch keeps every product whole on one thread (no operand packed twice), so it is
        // the better split whenever it yields enough tasks; outputs that overlap must be written one at a time.
        boolean acrossBatch = batch > 1 && disjointC
                && (batch >= 2 * Parallel.threads() || work * Parallel.threads() < TASK_WORK * 16);
        if (acrossBatch) {
            int tasks = (int) Math.clamp(work * batch / TASK_WORK, 1, batch);
            Parallel.forRange(batch, Math.ceilDiv(batch, tasks), (from, to) -> {
                for (int i = from; i < to; i++) {
                    multiplySerial(new GemmProblem(transA, transB, m, n, k, a, aOff + i * strideA, lda,
                            b, bOff + i * strideB, ldb, c, cOff + i * strideC, ldc, accumulate, aHalf, bHalf));
                }
            });
        } else {
            for (int i = 0; i < batch; i++) {
                multiply(new GemmProblem(transA, transB, m, n, k, a, aOff + i * strideA, lda,
                        b, bOff + i * strideB, ldb, c, cOff + i * strideC, ldc, accumulate, aHalf, bHalf));
            }
        }
    }

    private static void multiply(GemmProblem g) {
        int m = g.m(), n = g.n();
        if (m == 0 || n == 0) {
            return;
        }
        if (g.k() == 0) {
            g.clearC();
            return;
        }
        long work = (long) m * n * g.k();
        int tasks = (int) Math.clamp(work / TASK_WORK, 1, 2L * Parallel.threads());
        if (tasks == 1) {
            multiplySerial(g);
        } else if (isSmall(g)) {
            // No packing to repeat here, so split rows when there are enough, else columns (a single-row GEMV).
            if (m >= tasks) {
                Parallel.forRange(m, Math.ceilDiv(m, tasks), (from, to) -> SmallGemm.run(g, from, to, 0, n));
            } else {
                Parallel.forRange(n, Math.ceilDiv(n, tasks), (from, to) -> SmallGemm.run(g, 0, m, from, to));
            }
        } else {
            // Each task packs the whole of B (or A) for its range, so the split stays coarse: a couple of tasks
            // per thread for load balance, along whichever dimension has more micro-tiles.
            int rowStrips = Math.ceilDiv(m, MR), colStrips = Math.ceilDiv(n, NR);
            if (rowStrips >= colStrips) {
                Parallel.forRange(rowStrips, Math.ceilDiv(rowStrips, tasks),
                        (from, to) -> BlockedGemm.run(g, from * MR, Math.min(m, to * MR), 0, n));
            } else {
                Parallel.forRange(colStrips, Math.ceilDiv(colStrips, tasks),
                        (from, to) -> BlockedGemm.run(g, 0, m, from * NR, Math.min(n, to * NR)));
            }
        }
    }

    /** The whole product on the calling thread; safe inside a parallel loop body. */
    private static void multiplySerial(GemmProblem g) {
        if (g.m() == 0 || g.n() == 0) {
            return;
        }
        if (g.k() == 0) {
            g.clearC();
        } else if (isSmall(g)) {
            SmallGemm.run(g, 0, g.m(), 0, g.n());
        } else {
            BlockedGemm.run(g, 0, g.m(), 0, g.n());
        }
    }

    /** Products for which packing would not pay: tiny ones, and those much thinner than one micro-tile. */
    private static boolean isSmall(GemmProblem g) {
        return g.m() < MR / 2 || g.n() < VL || (long) g.m() * g.n() * g.k() <= SMALL_WORK;
    }
}
