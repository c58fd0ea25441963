package io.texforce.tensor.nn;

import io.texforce.tensor.Backend;
import io.texforce.tensor.Shape;
import io.texforce.tensor.Tensor;
import io.texforce.tensor.WeightDtype;
import io.texforce.tensor.cpu.CpuBackend;

import java.util.Arrays;
import java.util.Collections;
import java.util.HashSet;
import java.util.Set;
import java.util.TreeSet;
import java.util.function.Predicate;

/**
 * Hands weights to module constructors by the checkpoint's own dotted names: each submodule pushes its prefix
 * ({@code vb.pp("encoder").pp("layers").pp(3)}), so a constructor names exactly the keys it reads and a reader can
 * check every key against diffusers/transformers. Records which keys were used so that leftovers can be reported.
 *
 * <p>Layer weights that are never trained ({@link #getFrozen}: Linear and Conv2d kernels, embedding tables) come in
 * the builder's {@link WeightDtype}; everything else (norms, biases) is always float32.
 */
public final class VarBuilder {
    private final WeightSource source;
    private final String prefix;
    private final Backend backend;
    private final WeightDtype weightDtype;
    private final Set<String> used;

    private VarBuilder(WeightSource source, String prefix, Backend backend, WeightDtype weightDtype, Set<String> used) {
        this.source = source;
        this.prefix = prefix;
        this.backend = backend;
        this.weightDtype = weightDtype;
        this.used = used;
    }

    /** A root builder placing weights on the CPU. */
    public static VarBuilder of(WeightSource source) {
        return of(source, CpuBackend.INSTANCE);
    }

    public static VarBuilder of(WeightSource source, Backend backend) {
        return of(source, backend, WeightDtype.FP32);
    }

    /** A root builder whose frozen layer weights ({@link #getFrozen}) are stored in {@code weightDtype}. */
    public static VarBuilder of(WeightSource source, Backend backend, WeightDtype weightDtype) {
        return new VarBuilder(source, "", backend, weightDtype, Collections.synchronizedSet(new HashSet<>()));
    }

    /** A builder for the submodule {@code name}. */
    public VarBuilder pp(String name) {
        return new VarBuilder(source, path(name) + ".", backend, weightDtype, used);
    }

    public VarBuilder pp(int index) {
        return pp(Integer.toString(index));
    }

    /** The full key for a local name. */
    public String path(String name) {
        return prefix + name;
    }

    public Backend backend() {
        return backend;
    }

    public WeightSource source() {
        return source;
    }

    /** The dtype of frozen layer weights. */
    public WeightDtype weightDtype() {
        return weightDtype;
    }

    public boolean contains(String name) {
        return source.contains(path(name));
    }

    /** The shape stored for {@code name}, or null when the source has none (absent, or generated on request). */
    public int[] storedShape(String name) {
        String key = path(name);
        if (source instanceof RandomSource || !source.contains(key)) {
            return null;
        }
        return source.shape(key);
    }

    /** The weight {@code name} with the expected shape, or an error naming the key, both shapes and the source. */
    public Tensor get(String name, int... expectedShape) {
        return load(name, expectedShape, WeightDtype.FP32);
    }

    /**
     * A layer weight that is never trained (Linear/Conv2d kernels, embedding tables), checked like {@link #get} and
     * stored in the builder's weight dtype: with bf16/fp16 it is a 16-bit tensor that cannot require grad.
     */
    public Tensor getFrozen(String name, int... expectedShape) {
        return load(name, expectedShape, weightDtype);
    }

    private Tensor load(String name, int[] expectedShape, WeightDtype dtype) {
        String key = path(name);
        if (source instanceof RandomSource random) {
            random.expect(key, expectedShape);
        }
        if (!source.contains(key)) {
            throw new IllegalArgumentException("missing weight '" + key + "' (expected shape " + Shape.str(expectedShape)
                    + ") in " + source.describe() + nearby(key));
        }
        int[] stored = source.shape(key);
        if (!Arrays.equals(stored, expectedShape)) {
            throw new IllegalArgumentException("weight '" + key + "' in " + source.describe() + " has shape "
                    + Shape.str(stored) + " but the model expects " + Shape.str(expectedShape)
                    + " (does config.json match the weights?)");
        }
        used.add(key);
        Tensor t = dtype.isHalf() ? source.load(key, dtype) : source.load(key);
        return backend == CpuBackend.INSTANCE ? t : t.to(backend);
    }

    /** The weight if present (checked like {@link #get}), else null: for optional tensors such as biases. */
    public Tensor getOptional(String name, int... expectedShape) {
        return contains(name) ? get(name, expectedShape) : null;
    }

    private String nearby(String key) {
        String parent = key.contains(".") ? key.substring(0, key.lastIndexOf('.') + 1) : "";
        TreeSet<String> near = new TreeSet<>();
        for (String k : source.keys()) {
            if (k.startsWith(parent)) {
                near.add(k);
                if (near.size() == 8) {
                    break;
                }
            }
        }
        return near.isEmpty() ? "" : "; keys under '" + parent + "': " + near;
    }

    /** Keys of the source that no module read, excluding those {@code ignore} accepts. */
    public Set<String> unusedKeys(Predicate<String> ignore) {
        TreeSet<String> unused = new TreeSet<>();
        for (String k : source.keys()) {
            if (!used.contains(k) && !ignore.test(k)) {
                unused.add(k);
            }
        }
        return unused;
    }

    /** Fails when the source holds weights the model did not use (a sign of a config/checkpoint mismatch). */
    public void checkAllUsed(Predicate<String> ignore) {
        Set<String> unused = unusedKeys(ignore);
        if (!unused.isEmpty()) {
            throw new IllegalArgumentException("unexpected weights in " + source.describe() + " that the model does not"
                    + " use: " + (unused.size() > 12 ? unused.stream().limit(12).toList() + " and " + (unused.size() - 12)
                    + " more" : unused));
        }
    }
}
