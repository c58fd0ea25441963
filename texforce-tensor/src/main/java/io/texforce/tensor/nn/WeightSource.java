package io.texforce.tensor.nn;

import io.texforce.tensor.Tensor;
import io.texforce.tensor.WeightDtype;

import java.util.Set;

/** Where a {@link VarBuilder} finds named weights: checkpoint files, an in-memory map, or random initialisers. */
public interface WeightSource {
    boolean contains(String key);

    /** The stored shape of {@code key}. */
    int[] shape(String key);

    /** The weight as a float32 CPU tensor (converted from the stored dtype). */
    Tensor load(String key);

    /**
     * The weight as a frozen CPU tensor stored in {@code dtype} (rounded to nearest, ties to even). This default
     * rounds {@link #load(String)}; sources that can read 16-bit data directly override it.
     */
    default Tensor load(String key, WeightDtype dtype) {
        Tensor t = load(key);
        return dtype.isHalf() && t.dtype() != dtype ? t.detach().to(dtype) : t;
    }

    /** The dtype {@code key} is stored in, or null when the source does not say (generated weights). */
    default io.texforce.tensor.io.DType storedDType(String key) {
        return null;
    }

    /** Every key the source holds (empty for generated sources). */
    Set<String> keys();

    /** Where the weights come from, for error messages (e.g. a file path). */
    String describe();

    /**
     * This source seen with {@code prefix} in front of every key (a checkpoint saved from a submodule, read by a
     * model that names it from the root): key {@code prefix + k} is this source's {@code k}.
     */
    default WeightSource withPrefix(String prefix) {
        WeightSource inner = this;
        return new WeightSource() {
            private String strip(String key) {
                return key.startsWith(prefix) ? key.substring(prefix.length()) : null;
            }

            @Override
            public boolean contains(String key) {
                String k = strip(key);
                return k != null && inner.contains(k);
            }

            @Override
            public int[] shape(String key) {
                return inner.shape(inner(key));
            }

            @Override
            public Tensor load(String key) {
                return inner.load(inner(key));
            }

            @Override
            public Tensor load(String key, WeightDtype dtype) {
                return inner.load(inner(key), dtype);
            }

            private String inner(String key) {
                String k = strip(key);
                return k != null ? k : "(outside " + prefix + ") " + key;
            }

            @Override
            public io.texforce.tensor.io.DType storedDType(String key) {
                return inner.storedDType(inner(key));
            }

            @Override
            public Set<String> keys() {
                Set<String> out = new java.util.LinkedHashSet<>();
                inner.keys().forEach(k -> out.add(prefix + k));
                return out;
            }

            @Override
            public String describe() {
                return inner.describe();
            }
        };
    }
}
