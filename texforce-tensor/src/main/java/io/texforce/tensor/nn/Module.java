package io.texforce.tensor.nn;

import io.texforce.tensor.Backend;
import io.texforce.tensor.GradMode;
import io.texforce.tensor.Shape;
import io.texforce.tensor.Tensor;
import io.texforce.tensor.WeightDtype;

import java.util.ArrayList;
import java.util.Arrays;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.TreeSet;

/**
 * A node of a model tree with named parameters and children, giving PyTorch-style dotted names
 * ({@code encoder.layers.0.self_attn.q_proj.weight}) for state dicts and optimizers.
 */
public abstract class Module {
    private final Map<String, Tensor> params = new LinkedHashMap<>();
    private final Map<String, Module> children = new LinkedHashMap<>();

    /** Registers a parameter under {@code name} and returns it; null (an absent optional bias) is skipped. */
    protected final Tensor param(String name, Tensor t) {
        if (t != null) {
            if (params.containsKey(name) || children.containsKey(name)) {
                throw new IllegalArgumentException("duplicate member '" + name + "' in " + getClass().getSimpleName());
            }
            params.put(name, t);
        }
        return t;
    }

    /** Registers a child module under {@code name} and returns it. */
    protected final <M extends Module> M child(String name, M m) {
        if (m != null) {
            if (params.containsKey(name) || children.containsKey(name)) {
                throw new IllegalArgumentException("duplicate member '" + name + "' in " + getClass().getSimpleName());
            }
            children.put(name, m);
        }
        return m;
    }

    /** Direct children by name, in registration order. */
    public final Map<String, Module> children() {
        return java.util.Collections.unmodifiableMap(children);
    }

    /** All parameters of this tree by dotted name, in registration order. */
    public final Map<String, Tensor> namedParameters() {
        Map<String, Tensor> out = new LinkedHashMap<>();
        collect("", out);
        return out;
    }

    private void collect(String prefix, Map<String, Tensor> out) {
        params.forEach((k, v) -> out.put(prefix + k, v));
        children.forEach((k, m) -> m.collect(prefix + k + ".", out));
    }

    /** Every module of this tree by dotted path ("" for this one), depth first. */
    public final Map<String, Module> namedModules() {
        Map<String, Module> out = new LinkedHashMap<>();
        walk("", out);
        return out;
    }

    private void walk(String path, Map<String, Module> out) {
        out.put(path, this);
        children.forEach((k, m) -> m.walk(path.isEmpty() ? k : path + "." + k, out));
    }

    public final List<Tensor> parameters() {
        return new ArrayList<>(namedParameters().values());
    }

    /**
     * The parameters of this tree and the down/up weights of the LoRA adapters attached to its layers: every
     * tensor its forward computes with that could be trainable (what {@link io.texforce.tensor.Checkpoint} needs
     * to know about a checkpointed module).
     */
    public final List<Tensor> parametersAndAdapters() {
        List<Tensor> out = parameters();
        for (Module m : namedModules().values()) {
            if (m instanceof LoraLayer layer) {
                for (LoraAdapter a : layer.lora().all()) {
                    out.add(a.down());
                    out.add(a.up());
                }
            }
        }
        return out;
    }

    public final long parameterCount() {
        long n = 0;
        for (Tensor t : namedParameters().values()) {
            n += t.numel();
        }
        return n;
    }

    /** The backend holding this tree's parameters; an error when it has none or they are spread over several. */
    public final Backend backend() {
        Backend be = null;
        for (var e : namedParameters().entrySet()) {
            Backend b = e.getValue().backend();
            if (be == null) {
                be = b;
            } else if (b != be) {
                throw new IllegalStateException(getClass().getSimpleName() + " has parameters on " + be.name()
                        + " and on " + b.name() + " ('" + e.getKey() + "')");
            }
        }
        if (be == null) {
            throw new IllegalStateException(getClass().getSimpleName() + " has no parameters, so no backend");
        }
        return be;
    }

    /** Bytes the parameters' elements occupy as stored (2 per element of a 16-bit weight, 4 otherwise). */
    public final long parameterBytes() {
        long n = 0;
        for (Tensor t : namedParameters().values()) {
            n += (long) t.numel() * t.dtype().bytes();
        }
        return n;
    }

    /** The dtype of this tree's 16-bit frozen weights, or FP32 when every parameter is float32. */
    public final WeightDtype weightDtype() {
        for (Tensor t : namedParameters().values()) {
            if (t.dtype().isHalf()) {
                return t.dtype();
            }
        }
        return WeightDtype.FP32;
    }

    /** Marks every parameter of this tree trainable or frozen. */
    public final void requiresGrad(boolean value) {
        for (Tensor t : namedParameters().values()) {
            t.requiresGrad(value);
        }
    }

    /** The parameters by dotted name (live tensors, not copies). */
    public Map<String, Tensor> stateDict() {
        return namedParameters();
    }

    /**
     * Copies values into the parameters. With {@code strict}, keys missing from {@code state} and keys of
     * {@code state} that name no parameter are errors; a shape mismatch always is. Messages name the keys.
     */
    public void loadStateDict(Map<String, Tensor> state, boolean strict) {
        Map<String, Tensor> own = namedParameters();
        List<String> problems = new ArrayList<>();
        if (strict) {
            TreeSet<String> missing = new TreeSet<>(own.keySet());
            missing.removeAll(state.keySet());
            TreeSet<String> unexpected = new TreeSet<>(state.keySet());
            unexpected.removeAll(own.keySet());
            if (!missing.isEmpty()) {
                problems.add("missing keys " + missing);
            }
            if (!unexpected.isEmpty()) {
                problems.add("unexpected keys " + unexpected);
            }
        }
        for (var e : own.entrySet()) {
            Tensor src = state.get(e.getKey());
            if (src != null && !Arrays.equals(src.shape(), e.getValue().shape())) {
                problems.add("'" + e.getKey() + "' has shape " + Shape.str(src.shape()) + " in the state dict but "
                        + Shape.str(e.getValue().shape()) + " in the model");
            }
        }
        if (!problems.isEmpty()) {
            throw new IllegalArgumentException("cannot load state dict into " + getClass().getSimpleName() + ": "
                    + String.join("; ", problems));
        }
        try (var g = GradMode.noGrad()) {
            for (var e : own.entrySet()) {
                Tensor src = state.get(e.getKey());
                if (src != null) {
                    e.getValue().copyFrom(src.to(e.getValue().backend()));
                }
            }
        }
    }
}
