package io.texforce.tensor.cpu;

/**
 * The operands of one SGEMM call, {@code C = op(A) op(B) (+ C)}, with the layout conventions of {@link Gemm}.
 * Bundled so that the blocked driver, the packing routines and the small-matrix path share one vocabulary.
 */
record GemmProblem(boolean transA, boolean transB, int m, int n, int k,
                   float[] a, int aOff, int lda,
                   float[] b, int bOff, int ldb,
                   float[] c, int cOff, int ldc, boolean accumulate) {

    GemmProblem {
        if (m < 0 || n < 0 || k < 0) {
            throw new IllegalArgumentException("sgemm: negative size m=" + m + " n=" + n + " k=" + k);
        }
        checkLeadingDim("lda", lda, transA ? k : m, transA ? m : k);
        checkLeadingDim("ldb", ldb, transB ? n : k, transB ? k : n);
        checkLeadingDim("ldc", ldc, m, n);
    }

    /** A row stride only matters when there is more than one row; then it must cover a whole row. */
    private static void checkLeadingDim(String name, int ld, int rows, int cols) {
        if (rows > 1 && cols > 0 && ld < cols) {
            throw new IllegalArgumentException("sgemm: " + name + "=" + ld + " is smaller than the " + cols
                    + " columns of a " + rows + "x" + cols + " stored matrix");
        }
    }

    /** Element (i, p) of op(A). */
    float opA(int i, int p) {
        return transA ? a[aOff + p * lda + i] : a[aOff + i * lda + p];
    }

    /** Element (p, j) of op(B). */
    float opB(int p, int j) {
        return transB ? b[bOff + j * ldb + p] : b[bOff + p * ldb + j];
    }

    /** Number of floating-point operations of the product (2 per multiply-add). */
    long flops() {
        return 2L * m * n * k;
    }

    /** Zeroes C when nothing is to be accumulated into it, the whole result of an empty inner dimension. */
    void clearC() {
        if (!accumulate) {
            for (int i = 0; i < m; i++) {
                java.util.Arrays.fill(c, cOff + i * ldc, cOff + i * ldc + n, 0f);
            }
        }
    }
}
