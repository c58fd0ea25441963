package io.texforce.cuda;

import io.texforce.tensor.Shape;

import java.lang.foreign.MemorySegment;
import java.lang.foreign.ValueLayout;
import java.util.Arrays;

/**
 * The loop description of native/common.cuh's {@code struct Indexer}: a shape of rank at most {@link #MAX_RANK}
 * and the element strides of up to {@link #MAX_OPERANDS} operands over it, passed to kernels by value. Adjacent
 * dims that every operand walks as one are merged first, so only truly strided layouts pay for index arithmetic.
 */
record Indexer(int[] shape, int[][] strides) {
    static final int MAX_RANK = 8;
    static final int MAX_OPERANDS = 4;
    /** int rank, int shape[8], int stride[4][8]. */
    static final long BYTES = 4L * (1 + MAX_RANK + MAX_OPERANDS * MAX_RANK);

    /** The loop over {@code shape} with the given per-operand strides, coalesced. */
    static Indexer of(int[] shape, int[]... strides) {
        if (strides.length > MAX_OPERANDS) {
            throw new IllegalArgumentException(strides.length + " operands; kernels take at most " + MAX_OPERANDS);
        }
        int[][] st = new int[strides.length][];
        for (int o = 0; o < strides.length; o++) {
            st[o] = strides[o].clone();
        }
        int[] merged = coalesce(shape, st);
        if (merged.length > MAX_RANK) {
            throw new IllegalArgumentException("elementwise loop over shape " + Shape.str(shape) + " has rank "
                    + merged.length + " after merging dims; kernels take at most " + MAX_RANK);
        }
        return new Indexer(merged, st);
    }

    /** Writes the struct into {@code out} (at least {@link #BYTES} long). */
    void writeTo(MemorySegment out) {
        out.fill((byte) 0);
        out.set(ValueLayout.JAVA_INT, 0, shape.length);
        for (int d = 0; d < shape.length; d++) {
            out.set(ValueLayout.JAVA_INT, 4L * (1 + d), shape[d]);
            for (int o = 0; o < strides.length; o++) {
                out.set(ValueLayout.JAVA_INT, 4L * (1 + MAX_RANK + o * MAX_RANK + d), strides[o][d]);
            }
        }
    }

    /** Merges dim d into d-1 where every operand has stride[d-1] == stride[d] * shape[d]; replaces strides. */
    private static int[] coalesce(int[] shape, int[][] strides) {
        int rank = shape.length;
        int[] s = new int[rank];
        int[][] st = new int[strides.length][rank];
        int k = 0;
        for (int d = 0; d < rank; d++) {
            if (shape[d] == 1) {
                continue;  // a size-1 dim moves no operand
            }
            boolean merge = k > 0;
            for (int o = 0; o < strides.length && merge; o++) {
                merge = st[o][k - 1] == strides[o][d] * shape[d];
            }
            if (merge) {
                s[k - 1] *= shape[d];
                for (int o = 0; o < strides.length; o++) st[o][k - 1] = strides[o][d];
            } else {
                s[k] = shape[d];
                for (int o = 0; o < strides.length; o++) st[o][k] = strides[o][d];
                k++;
            }
        }
        for (int o = 0; o < strides.length; o++) {
            strides[o] = Arrays.copyOf(st[o], k);
        }
        return Arrays.copyOf(s, k);
    }
}
