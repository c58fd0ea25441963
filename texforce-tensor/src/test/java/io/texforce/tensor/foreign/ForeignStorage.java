package io.texforce.tensor.foreign;

import io.texforce.tensor.Backend;
import io.texforce.tensor.Storage;

/**
 * The foreign backend's buffer. Its array is private to the package, so no model code can read it the way CPU
 * code reads {@code CpuStorage.data()}: every access has to go through the backend, as with device memory.
 */
final class ForeignStorage implements Storage {
    private final ForeignBackend backend;
    final float[] data;

    ForeignStorage(ForeignBackend backend, float[] data) {
        this.backend = backend;
        this.data = data;
    }

    @Override
    public Backend backend() {
        return backend;
    }

    @Override
    public int size() {
        return data.length;
    }
}
