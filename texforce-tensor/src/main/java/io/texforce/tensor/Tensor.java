package io.texforce.tensor;

import io.texforce.tensor.cpu.CpuBackend;

import java.util.Arrays;

/**
 * A float32 n-dimensional array: a strided view over a {@link Storage}, with reverse-mode autograd.
 */
public final class Tensor {
    private final Storage storage;
    private final int[] shape;
    private final int[] strides;
    private final int offset;

    public Tensor(Storage storage, int[] shape, int[] strides, int offset) {
        this.storage = storage;
        this.shape = shape.clone();
        this.strides = strides.clone();
        this.offset = offset;
    }

    /** A contiguous CPU tensor wrapping {@code data} (not copied). */
    public static Tensor of(float[] data, int... shape) {
        if (Shape.numel(shape) != data.length) {
            throw new IllegalArgumentException("shape " + Shape.str(shape) + " needs " + Shape.numel(shape)
                    + " elements, got " + data.length);
        }
        return new Tensor(CpuBackend.INSTANCE.fromHost(data), shape, Shape.contiguousStrides(shape), 0);
    }

    public int[] shape() {
        return shape.clone();
    }

    public int numel() {
        return Shape.numel(shape);
    }

    public Storage storage() {
        return storage;
    }

    public int[] strides() {
        return strides.clone();
    }

    public int offset() {
        return offset;
    }

    /** The elements in row-major order, as a new host array. */
    public float[] toFloatArray() {
        return storage.backend().toHost(this);
    }

    @Override
    public String toString() {
        return "Tensor" + Arrays.toString(shape);
    }
}
