package io.texforce.tensor.random;

import io.texforce.tensor.Backend;
import io.texforce.tensor.Shape;
import io.texforce.tensor.Tensor;

/**
 * A seed and a position in its {@link Philox} stream. Each draw consumes as many stream elements as it returns
 * values (normal and uniform draws share the same positions), so saving {@link #seed()} and {@link #offset()}
 * and restoring them with {@link #setOffset} resumes the exact sequence. Not thread-safe.
 */
public final class Generator {
    private final long seed;
    private long offset;

    public Generator(long seed) {
        this.seed = seed;
    }

    public long seed() {
        return seed;
    }

    /** Number of stream elements consumed so far. */
    public long offset() {
        return offset;
    }

    public void setOffset(long offset) {
        if (offset < 0) {
            throw new IllegalArgumentException("stream offset must be non-negative, got " + offset);
        }
        this.offset = offset;
    }

    /** A CPU tensor of standard normal values. */
    public Tensor randn(int... shape) {
        float[] data = new float[Shape.numel(shape)];
        Philox.normal(seed, offset, data, 0, data.length);
        offset += data.length;
        return Tensor.of(data, shape);
    }

    /** A CPU tensor of values uniform in [0, 1). */
    public Tensor rand(int... shape) {
        float[] data = new float[Shape.numel(shape)];
        Philox.uniform(seed, offset, data, 0, data.length);
        offset += data.length;
        return Tensor.of(data, shape);
    }

    /**
     * Standard normal values drawn on {@code backend} itself (no host round trip): the same numbers as
     * {@link #randn(int...)}, since Philox is a function of (seed, position) on every backend.
     */
    public Tensor randn(Backend backend, int... shape) {
        Tensor t = backend.random(shape, seed, offset, false);
        offset += t.numel();
        return t;
    }

    /** Values uniform in [0, 1) drawn on {@code backend}; the same numbers as {@link #rand(int...)}. */
    public Tensor rand(Backend backend, int... shape) {
        Tensor t = backend.random(shape, seed, offset, true);
        offset += t.numel();
        return t;
    }

    @Override
    public String toString() {
        return "Generator[seed=" + seed + ", offset=" + offset + "]";
    }
}
