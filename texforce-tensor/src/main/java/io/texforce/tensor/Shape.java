package io.texforce.tensor;

import java.util.Arrays;

/** Static helpers for shapes and strides (row-major). */
public final class Shape {
    private Shape() {
    }

    public static int numel(int[] shape) {
        long n = 1;
        for (int s : shape) {
            if (s < 0) {
                throw new IllegalArgumentException("negative dimension in shape " + Arrays.toString(shape));
            }
            n *= s;
        }
        if (n > Integer.MAX_VALUE) {
            throw new IllegalArgumentException("tensor of shape " + Arrays.toString(shape) + " has more than 2^31-1 elements");
        }
        return (int) n;
    }

    public static int[] contiguousStrides(int[] shape) {
        int[] strides = new int[shape.length];
        int s = 1;
        for (int i = shape.length - 1; i >= 0; i--) {
            strides[i] = s;
            s *= Math.max(1, shape[i]);
        }
        return strides;
    }

    /** The broadcast shape of a and b (NumPy rules), or an error naming both shapes. */
    public static int[] broadcast(int[] a, int[] b) {
        int n = Math.max(a.length, b.length);
        int[] out = new int[n];
        for (int i = 0; i < n; i++) {
            int da = i - (n - a.length) >= 0 ? a[i - (n - a.length)] : 1;
            int db = i - (n - b.length) >= 0 ? b[i - (n - b.length)] : 1;
            if (da != db && da != 1 && db != 1) {
                throw new IllegalArgumentException("shapes " + Arrays.toString(a) + " and " + Arrays.toString(b)
                        + " do not broadcast (dimension " + i + ": " + da + " vs " + db + ")");
            }
            out[i] = da == 1 ? db : da;
        }
        return out;
    }

    /** Normalises a possibly negative dimension index. */
    public static int dim(int dim, int rank) {
        int d = dim < 0 ? dim + rank : dim;
        if (d < 0 || d >= rank) {
            throw new IllegalArgumentException("dimension " + dim + " out of range for a tensor of rank " + rank);
        }
        return d;
    }

    public static String str(int[] shape) {
        return Arrays.toString(shape);
    }

    /** The shape of concatenating tensors of these shapes along {@code dim}; every other dim must agree. */
    public static int[] concat(java.util.List<int[]> shapes, int dim) {
        int[] out = shapes.get(0).clone();
        int total = 0;
        for (int[] s : shapes) {
            if (s.length != out.length) {
                throw new IllegalArgumentException("concat of tensors of rank " + out.length + " and " + s.length);
            }
            for (int i = 0; i < s.length; i++) {
                if (i != dim && s[i] != out[i]) {
                    throw new IllegalArgumentException("concat along " + dim + " of shapes " + str(out) + " and " + str(s));
                }
            }
            total += s[dim];
        }
        out[dim] = total;
        return out;
    }
}
