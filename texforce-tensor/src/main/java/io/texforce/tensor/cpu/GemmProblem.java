package io.texforce.tensor.cpu;

/**
 * The operands of one GEMM call, {@code C = op(A) op(B) (+ C)}, with the layout conventions of {@link Gemm}.
 * Bundled so that the blocked driver, the packing routines and the small-matrix path share one vocabulary.
 *
 * <p>A or B (not both) may be a 16-bit weight: then {@code aHalf} (or {@code bHalf}) holds it, the float array of that side is
 * null, and the offsets and leading dimensions index the 16-bit elements. Packing widens them to float32 exactly,
 * so the product equals the float32 product of the widened operand.
 */
record GemmProblem(boolean transA, boolean transB, int m, int n, int k,
                   float[] a, int aOff, int lda,
                   float[] b, int bOff, int ldb,
                   float[] c, int cOff, int ldc, boolean accumulate,
                   HalfStorage aHalf, HalfStorage bHalf) {

    GemmProblem {
        if (m < 0 || n < 0 || k < 0) {
            throw new IllegalArgumentException("sgemm: negative size m=" + m + " n=" + n + " k=" + k);
        }
        if ((a == null) == (aHalf == null) || (b == null) == (bHalf == null)) {
            throw new IllegalArgumentException("sgemm: each operand needs exactly one of a float32 or a 16-bit array");
        }
        if (aHalf != null && bHalf != null) {
            throw new IllegalArgumentException("sgemm: at most one operand may be 16-bit (widen the other first)");
        }
        checkLeadingDim("lda", lda, transA ? k : m, transA ? m : k);
        checkLeadingDim("ldb", ldb, transB ? n : k, transB ? k : n);
        checkLeadingDim("ldc", ldc, m, n);
    }

    /** A float32 product. */
    GemmProblem(boolean transA, boolean transB, int m, int n, int k, float[] a, int aOff, int lda,
                float[] b, int bOff, int ldb, float[] c, int cOff, int ldc, boolean accumulate) {
        this(transA, transB, m, n, k, a, aOff, lda, b, bOff, ldb, c, cOff, ldc, accumulate, null, null);
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
        int at = transA ? aOff + p * lda + i : aOff + i * lda + p;
        return aHalf == null ? a[at] : aHalf.get(at);
    }

    /** Element (p, j) of op(B). */
    float opB(int p, int j) {
        int at = transB ? bOff + j * ldb + p : bOff + p * ldb + j;
        return bHalf == null ? b[at] : bHalf.get(at);
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
