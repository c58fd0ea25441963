package io.texforce.tensor.nn;

import io.texforce.tensor.Tensor;
import io.texforce.tensor.cpu.CpuBackend;

import java.util.Set;

/**
 * Generates any requested weight: uniform with standard deviation {@code std} for matrices and kernels (uniform
 * rather than normal because it is ~20x cheaper to draw for a billion weights, and timings do not care), ones
 * for norm scales, zeros for biases. With {@code std = 0} matrices are zero too (cheap: shape tests).
 * Used to build full-size models with the real shapes for benchmarks. The shape comes from the model, so
 * {@link #shape} is only meaningful after {@link VarBuilder#get} supplied it; this source accepts every key.
 */
public final class RandomSource implements WeightSource {
    private final long seed;
    private final float std;
    private final java.util.Map<String, int[]> shapes = new java.util.concurrent.ConcurrentHashMap<>();
    private long offset;

    public RandomSource(long seed, float std) {
        this.seed = seed;
        this.std = std;
    }

    @Override
    public boolean contains(String key) {
        return true;
    }

    /** Records and returns the shape the caller expects: see {@link #expect}. */
    @Override
    public int[] shape(String key) {
        int[] s = shapes.get(key);
        if (s == null) {
            throw new IllegalStateException("RandomSource needs the expected shape of '" + key + "' first");
        }
        return s;
    }

    /** Called by {@link VarBuilder} before {@link #shape}: remembers the shape to generate for {@code key}. */
    void expect(String key, int[] shape) {
        shapes.put(key, shape.clone());
    }

    @Override
    public synchronized Tensor load(String key) {
        int[] s = shape(key);
        String leaf = key.substring(key.lastIndexOf('.') + 1);
        if (leaf.equals("bias") || leaf.equals("beta")) {
            return Tensor.zeros(s);
        }
        if (s.length == 1) {
            return Tensor.ones(s);
        }
        if (std == 0f) {
            return Tensor.zeros(s);
        }
        float half = (float) (std * Math.sqrt(3.0));
        Tensor t = CpuBackend.INSTANCE.random(s, seed, offset, true).mul(2f * half).sub(half);
        offset += (t.numel() + 3) / 4;
        return t;
    }

    @Override
    public Set<String> keys() {
        return Set.of();
    }

    @Override
    public String describe() {
        return "random weights (seed " + seed + ")";
    }
}
