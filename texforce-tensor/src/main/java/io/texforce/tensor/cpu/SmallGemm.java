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
        if (g.transB()) {
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
                    s = 0f;
                    for (int p = 0; p < k; p++) {
                        s += a[g.aOff() + p * g.lda() + i] * b[bo + p];
                    }
                } else {
                    s = dot(a, g.aOff() + i * g.lda(), b, bo, k);
                }
                c[co + j] = g.accumulate() ? c[co + j] + s : s;
            }
        }
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
