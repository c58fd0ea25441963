package io.texforce.tensor;

import java.util.Arrays;

/**
 * The shapes of a batched product {@code op(a) @ op(b)} as {@link Backend#matmul} defines it, validated once for
 * every backend: op(a) is m x k, op(b) is k x n, leading dims broadcast to {@code batch}.
 *
 * @param aShared a has no batch of its own (one matrix for every batch entry)
 * @param bShared b has no batch of its own (e.g. a Linear weight)
 * @param lda     row stride of a as stored, {@code ldb} of b
 */
public record MatmulShape(int m, int n, int k, int[] batch, int batchCount, boolean aShared, boolean bShared,
                          int lda, int ldb, int[] aRows, int[] bRows) {

    public static MatmulShape of(int[] as, int[] bs, boolean transA, boolean transB) {
        if (as.length < 2 || bs.length < 2) {
            throw new IllegalArgumentException("matmul needs operands of rank >= 2, got " + Shape.str(as) + " and "
                    + Shape.str(bs));
        }
        int m = transA ? as[as.length - 1] : as[as.length - 2];
        int ka = transA ? as[as.length - 2] : as[as.length - 1];
        int kb = transB ? bs[bs.length - 1] : bs[bs.length - 2];
        int n = transB ? bs[bs.length - 2] : bs[bs.length - 1];
        if (ka != kb) {
            throw new IllegalArgumentException("matmul of " + Shape.str(as) + (transA ? "^T" : "") + " and "
                    + Shape.str(bs) + (transB ? "^T" : "") + ": inner dimensions " + ka + " and " + kb + " differ");
        }
        int[] batchA = Arrays.copyOf(as, as.length - 2), batchB = Arrays.copyOf(bs, bs.length - 2);
        int[] batch = Shape.broadcast(batchA, batchB);
        return new MatmulShape(m, n, ka, batch, Shape.numel(batch), Shape.numel(batchA) == 1, Shape.numel(batchB) == 1,
                as[as.length - 1], bs[bs.length - 1],
                withMatrix(batch, as[as.length - 2], as[as.length - 1]),
                withMatrix(batch, bs[bs.length - 2], bs[bs.length - 1]));
    }

    /** [batch..., m, n]. */
    public int[] outShape() {
        return withMatrix(batch, m, n);
    }

    /** True when nothing is computed (an empty dimension): the result is all zeros. */
    public boolean empty() {
        return m == 0 || n == 0 || k == 0 || batchCount == 0;
    }

    /** {@code batch} followed by two matrix dims. */
    public static int[] withMatrix(int[] batch, int rows, int cols) {
        int[] s = Arrays.copyOf(batch, batch.length + 2);
        s[batch.length] = rows;
        s[batch.length + 1] = cols;
        return s;
    }
}
