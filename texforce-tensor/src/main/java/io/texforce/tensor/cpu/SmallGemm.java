package io.texforce.tensor.cpu;

import java.util.Arrays;
import jdk.incubator.vector.FloatVector;
import jdk.incubator.vector.VectorOperators;
import jdk.incubator.vector.VectorSpecies;

/**
 * SGEMM without packing, for products too small (or too thin, like a single row) for packing to pay off: each
 * row of C is built with vectorised axpy over the rows of B, or with dot products when B is transposed.
 */
final class SmallGemm {
    private static final VectorSpecies<Float> S = FloatVector.SPECIES_PREFERRED;

    private SmallGemm() {
    }

    /** Computes rows [rowFrom, rowTo) and columns [colFrom, colTo) of C. */
    static void run(GemmProblem g, int rowFrom, int rowTo, int colFrom, int colTo) {
        if (g.bHalf() != null) {
            if (g.transB()) {
                dotRowsHalfB(g, rowFrom, rowTo, colFrom, colTo);
            } else {
                axpyRowsHalfB(g, rowFrom, rowTo, colFrom, colTo);
            }
        } else if (g.aHalf() != null && g.transB()) {
            dotRowsHalfA(g, rowFrom, rowTo, colFrom, colTo);
        } else if (g.transB()) {
            dotRows(g, rowFrom, rowTo, colFrom, colTo);
        } else {
            axpyRows(g, rowFrom, rowTo, colFrom, colTo);
        }
    }

    /** B stored [K, N]: C[i, :] += A(i, p) * B[p, :] for each p, directly in C. */
    private static void axpyRows(GemmProblem g, int rowFrom, int rowTo, int colFrom, int colTo) {
        float[] b = g.b(), c = g.c();
        int k = g.k(), width = colTo - colFrom;
        for (int i = rowFrom; i < rowTo; i++) {
            int co = g.cOff() + i * g.ldc() + colFrom;
            if (!g.accumulate()) {
                Arrays.fill(c, co, co + width, 0f);
            }
            for (int p = 0; p < k; p++) {
                axpy(g.opA(i, p), b, g.bOff() + p * g.ldb() + colFrom, c, co, width);
            }
        }
    }

    /**
     * {@link #axpyRows} with a 16-bit B: each row of B is widened once and applied to every row of C. Each element
     * of C still sums over p in increasing order, so the result equals that of the widened B.
     */
    private static void axpyRowsHalfB(GemmProblem g, int rowFrom, int rowTo, int colFrom, int colTo) {
        float[] c = g.c();
        int k = g.k(), width = colTo - colFrom;
        if (!g.accumulate()) {
            for (int i = rowFrom; i < rowTo; i++) {
                int co = g.cOff() + i * g.ldc() + colFrom;
                Arrays.fill(c, co, co + width, 0f);
            }
        }
        float[] row = new float[width];
        for (int p = 0; p < k; p++) {
            g.bHalf().widen(g.bOff() + p * g.ldb() + colFrom, row, 0, width);
            for (int i = rowFrom; i < rowTo; i++) {
                axpy(g.opA(i, p), row, 0, c, g.cOff() + i * g.ldc() + colFrom, width);
            }
        }
    }

    private static void axpy(float alpha, float[] x, int xo, float[] y, int yo, int n) {
        int j = 0;
        if (n >= S.length()) {
            var av = FloatVector.broadcast(S, alpha);
            for (int bound = S.loopBound(n); j < bound; j += S.length()) {
                av.fma(FloatVector.fromArray(S, x, xo + j), FloatVector.fromArray(S, y, yo + j)).intoArray(y, yo + j);
            }
        }
        for (; j < n; j++) {
            y[yo + j] += alpha * x[xo + j];
        }
    }

    /** B stored [N, K]: C[i, j] = dot(op(A) row i, B row j). */
    private static void dotRows(GemmProblem g, int rowFrom, int rowTo, int colFrom, int colTo) {
        float[] a = g.a(), b = g.b(), c = g.c();
        int k = g.k();
        for (int i = rowFrom; i < rowTo; i++) {
            int co = g.cOff() + i * g.ldc();
            for (int j = colFrom; j < colTo; j++) {
                int bo = g.bOff() + j * g.ldb();
                float s;
                if (g.transA()) {
                    s = stridedDot(a, g.aOff() + i, g.lda(), b, bo, k);
                } else {
                    s = dot(a, g.aOff() + i * g.lda(), b, bo, k);
                }
                c[co + j] = g.accumulate() ? c[co + j] + s : s;
            }
        }
    }

    /** {@link #dotRows} with a 16-bit B [N, K]: each row of B is widened once and dotted with every row of A. */
    private static void dotRowsHalfB(GemmProblem g, int rowFrom, int rowTo, int colFrom, int colTo) {
        float[] c = g.c();
        float[] column = new float[g.k()];
        for (int j = colFrom; j < colTo; j++) {
            g.bHalf().widen(g.bOff() + j * g.ldb(), column, 0, g.k());
            for (int i = rowFrom; i < rowTo; i++) {
                int at = g.cOff() + i * g.ldc() + j;
                float s = g.transA() ? stridedDot(g.a(), g.aOff() + i, g.lda(), column, 0, g.k())
                        : dot(g.a(), g.aOff() + i * g.lda(), column, 0, g.k());
                c[at] = g.accumulate() ? c[at] + s : s;
            }
        }
    }

    /** {@link #dotRows} with a 16-bit A: each row of op(A) is widened once and dotted with every row of B. */
    private static void dotRowsHalfA(GemmProblem g, int rowFrom, int rowTo, int colFrom, int colTo) {
        float[] b = g.b(), c = g.c();
        float[] row = new float[g.k()];
        for (int i = rowFrom; i < rowTo; i++) {
            if (g.transA()) {
                g.aHalf().widen(g.aOff() + i, g.lda(), row, 0, 1, g.k());
            } else {
                g.aHalf().widen(g.aOff() + i * g.lda(), row, 0, g.k());
            }
            for (int j = colFrom; j < colTo; j++) {
                int at = g.cOff() + i * g.ldc() + j;
                // The same summation order as the float32 path for each layout of A (see dotRows).
                float s = g.transA() ? stridedDot(row, 0, 1, b, g.bOff() + j * g.ldb(), g.k())
                        : dot(row, 0, b, g.bOff() + j * g.ldb(), g.k());
                c[at] = g.accumulate() ? c[at] + s : s;
            }
        }
    }

    /** A sequential dot product with x read {@code xStride} apart: the order of the transposed-A float32 path. */
    private static float stridedDot(float[] x, int xo, int xStride, float[] y, int yo, int k) {
        float s = 0f;
        for (int p = 0; p < k; p++) {
            s += x[xo + p * xStride] * y[yo + p];
        }
        return s;
    }

    private static float dot(float[] x, int xo, float[] y, int yo, int k) {
        int p = 0;
        float s = 0f;
        if (k >= S.length()) {
            var acc = FloatVector.zero(S);
            for (int bound = S.loopBound(k); p < bound; p += S.length()) {
                acc = FloatVector.fromArray(S, x, xo + p).fma(FloatVector.fromArray(S, y, yo + p), acc);
            }
            s = VectorMath.sum(acc);
        }
        for (; p < k; p++) {
            s += x[xo + p] * y[yo + p];
        }
        return s;
    }
}
