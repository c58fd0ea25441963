package io.texforce.cuda;

import io.texforce.tensor.Backend;
import io.texforce.tensor.Storage;

/** float32 storage in device memory; the block returns to the backend's cache when this becomes unreachable. */
public final class CudaStorage implements Storage {
    private final CudaBackend backend;
    private final long pointer;
    private final int size;

    CudaStorage(CudaBackend backend, long pointer, int size) {
        this.backend = backend;
        this.pointer = pointer;
        this.size = size;
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
}
