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

    /** Every key the source holds (empty for generated sources). */
    Set<String> keys();

    /** Where the weights come from, for error messages (e.g. a file path). */
    String describe();
}
