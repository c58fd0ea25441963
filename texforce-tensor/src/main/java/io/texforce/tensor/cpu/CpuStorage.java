package io.texforce.tensor.cpu;

import io.texforce.tensor.Backend;
import io.texforce.tensor.Storage;

/**
 * Heap storage: a plain {@code float[]}. See docs/design.md for why the CPU backend keeps activations and
 * weights on the Java heap rather than in off-heap segments.
 */
public final class CpuStorage implements Storage {
    private final float[] data;

    public CpuStorage(float[] data) {
        this.data = data;
    }

    /** The backing array; kernels index it directly. */
    public float[] data() {
        return data;
    }

    @Override
    public Backend backend() {
        return CpuBackend.INSTANCE;
    }

    @Override
    public int size() {
        return data.length;
    }
}
