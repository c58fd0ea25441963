package io.texforce.tensor;

/**
 * How a backend carries out {@link Backend#reduce}: the permutation that moves kept dims first and reduced dims
 * last (so each output element reduces one contiguous row of {@code len} elements, {@code outer} rows in all),
 * the output shape, and whether the reduced dims are exactly the leading ones (then a dense input can be reduced
 * column-wise without the permuting copy: the bias-gradient case).
 */
public record ReducePlan(int[] perm, int outer, int len, int[] outShape, boolean leading) {

    /** {@code dims} sorted and distinct, as {@link Backend#reduce} receives them. */
    public static ReducePlan of(int[] shape, int[] dims, boolean keepDim) {
        int rank = shape.length;
        boolean[] reduced = new boolean[rank];
        for (int d : dims) {
            reduced[d] = true;
        }
        int[] perm = new int[rank];
        int k = 0, outer = 1, len = 1;
        for (int i = 0; i < rank; i++) {
            if (!reduced[i]) {
                perm[k++] = i;
                outer *= shape[i];
            }
        }
        int keptRank = k;
        for (int i = 0; i < rank; i++) {
            if (reduced[i]) {
                perm[k++] = i;
                len *= shape[i];
            }
        }
        int[] outShape;
        if (keepDim) {
            outShape = shape.clone();
            for (int d : dims) {
                outShape[d] = 1;
            }
        } else {
            outShape = new int[keptRank];
            for (int i = 0; i < keptRank; i++) {
                outShape[i] = shape[perm[i]];
            }
        }
        boolean leading = keptRank > 0 && keptRank < rank;
        for (int i = 0; i < rank && leading; i++) {
            leading = reduced[i] == (i < rank - keptRank);
        }
        return new ReducePlan(perm, outer, len, outShape, leading);
    }
}
