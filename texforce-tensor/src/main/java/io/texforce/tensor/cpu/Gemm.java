package io.texforce.tensor.cpu;

/**
 * Single-precision general matrix multiply on row-major arrays: {@code C = op(A) op(B) (+ C)}.
 *
 * <p>op(A) is M x K: A is stored [M, K] with row stride {@code lda}, or [K, M] when {@code transA}. op(B) is K x N:
 * B is stored [K, N] with row stride {@code ldb}, or [N, K] when {@code transB}. C is [M, N] with row stride
 * {@code ldc}. With {@code accumulate} the product is added to C, otherwise C is overwritten.
 */
public final class Gemm {
    private Gemm() {
    }

    public static void sgemm(boolean transA, boolean transB, int m, int n, int k,
                             float[] a, int aOff, int lda,
                             float[] b, int bOff, int ldb,
                             float[] c, int cOff, int ldc, boolean accumulate) {
        Parallel.forRange(m, Math.max(1, 16384 / Math.max(1, n * Math.max(1, k) / 64)), (i0, i1) -> {
            float[] row = new float[n];
            for (int i = i0; i < i1; i++) {
                java.util.Arrays.fill(row, 0f);
                for (int p = 0; p < k; p++) {
                    float av = transA ? a[aOff + p * lda + i] : a[aOff + i * lda + p];
                    if (av == 0f) {
                        continue;
                    }
                    if (transB) {
                        for (int j = 0; j < n; j++) {
                            row[j] += av * b[bOff + j * ldb + p];
                        }
                    } else {
                        int bo = bOff + p * ldb;
                        for (int j = 0; j < n; j++) {
                            row[j] += av * b[bo + j];
                        }
                    }
                }
                int co = cOff + i * ldc;
                for (int j = 0; j < n; j++) {
                    c[co + j] = accumulate ? c[co + j] + row[j] : row[j];
                }
            }
        });
    }

    /**
     * {@code batch} independent products; matrix b of the batch starts at {@code xOff + b * strideX}. A stride of 0
     * shares one operand across the batch (e.g. a weight matrix).
     */
    public static void sgemmBatched(int batch, boolean transA, boolean transB, int m, int n, int k,
                                    float[] a, int aOff, int lda, int strideA,
                                    float[] b, int bOff, int ldb, int strideB,
                                    float[] c, int cOff, int ldc, int strideC, boolean accumulate) {
        for (int i = 0; i < batch; i++) {
            sgemm(transA, transB, m, n, k, a, aOff + i * strideA, lda, b, bOff + i * strideB, ldb,
                    c, cOff + i * strideC, ldc, accumulate);
        }
    }
}
