package io.texforce.tensor.io;

import java.util.Arrays;

/**
 * One header entry: a tensor's name, element type, shape and byte range {@code [begin, end)} relative to the
 * start of the data buffer (the byte after the header).
 */
public record TensorInfo(String name, DType dtype, int[] shape, long begin, long end) {
    public TensorInfo {
        shape = shape.clone();
    }

    @Override
    public int[] shape() {
        return shape.clone();
    }

    /** Number of elements; 1 for a 0-dim tensor. */
    public long numel() {
        long n = 1;
        for (int d : shape) {
            n *= d;
        }
        return n;
    }

    /** Length of the byte range. */
    public long byteLength() {
        return end - begin;
    }

    @Override
    public boolean equals(Object o) {
        return o instanceof TensorInfo t && name.equals(t.name) && dtype == t.dtype && Arrays.equals(shape, t.shape)
                && begin == t.begin && end == t.end;
    }

    @Override
    public int hashCode() {
        return 31 * (31 * name.hashCode() + dtype.hashCode()) + Arrays.hashCode(shape) + Long.hashCode(begin);
    }

    @Override
    public String toString() {
        return name + " " + dtype + Arrays.toString(shape) + " bytes [" + begin + ", " + end + ")";
    }
}
