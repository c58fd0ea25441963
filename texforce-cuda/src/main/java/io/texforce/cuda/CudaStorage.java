package io.texforce.cuda;

import io.texforce.tensor.Backend;
import io.texforce.tensor.Storage;
import io.texforce.tensor.WeightDtype;

/**
 * Elements in device memory: float32, or bfloat16/half bit patterns for a frozen weight ({@link #dtype()}); the
 * block returns to the backend's cache when this becomes unreachable.
 */
public final class CudaStorage implements Storage {
    private final CudaBackend backend;
    private final long pointer;
    private final int size;
    private final WeightDtype dtype;

    CudaStorage(CudaBackend backend, long pointer, int size, WeightDtype dtype) {
        this.backend = backend;
        this.pointer = pointer;
        this.size = size;
        this.dtype = dtype;
    }

    /** The device address of element 0. */
    long pointer() {
        return pointer;
    }

    @Override
    public Backend backend() {
        return backend;
    }

    @Override
    public int size() {
        return size;
    }

    @Override
    public WeightDtype dtype() {
        return dtype;
    }
}
