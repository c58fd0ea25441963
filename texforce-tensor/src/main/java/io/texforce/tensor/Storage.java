package io.texforce.tensor;

/**
 * A flat buffer of float32 values owned by one {@link Backend}. Tensors are strided views over a storage.
 */
public interface Storage {
    /** The backend whose kernels can read and write this storage. */
    Backend backend();

    /** Number of float32 elements. */
    int size();
}
