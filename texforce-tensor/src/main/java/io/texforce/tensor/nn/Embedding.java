package io.texforce.tensor.nn;

import io.texforce.tensor.Functional;
import io.texforce.tensor.Tensor;

/** A lookup table of {@code count} vectors of size {@code dim}. */
public final class Embedding extends Module {
    private final Tensor weight;

    public Embedding(Tensor weight) {
        this.weight = param("weight", weight);
    }

    public Embedding(VarBuilder vb, int count, int dim) {
        this(vb.getFrozen("weight", count, dim));
    }

    /** Rows for each id, shaped [ids.length, dim]. */
    public Tensor forward(int[] ids) {
        return Functional.embedding(weight, ids);
    }

    public Tensor weight() {
        return weight;
    }
}
