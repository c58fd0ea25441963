package io.texforce.tensor;

/**
 * A flat buffer of elements owned by one {@link Backend}. Tensors are strided views over a storage. Elements are
 * float32 values; a storage may hold them in 16 bits ({@link #dtype()}): frozen weights, and activations on a
 * backend that keeps them in 16 bits.
 */
public interface Storage {
    /** The backend whose kernels can read and write this storage. */
    Backend backend();

    /** Number of elements. */
    int size();

    /** How the elements are stored; float32 unless this is a 16-bit storage. */
    default WeightDtype dtype() {
        return WeightDtype.FP32;
    }

    /** Bytes the elements occupy. */
    default long bytes() {
        return (long) size() * dtype().bytes();
    }
}
