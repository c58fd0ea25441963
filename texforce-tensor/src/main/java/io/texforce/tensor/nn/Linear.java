package io.texforce.tensor.nn;

import io.texforce.tensor.Functional;
import io.texforce.tensor.Tensor;

/** {@code y = x W^T + b}, weight [out, in]. */
public final class Linear extends Module {
    private final Tensor weight;
    private final Tensor bias;

    public Linear(Tensor weight, Tensor bias) {
        this.weight = param("weight", weight);
        this.bias = param("bias", bias);
    }

    /** Loads {@code weight} [out, in] and, when {@code withBias}, {@code bias} [out] from {@code vb}. */
    public Linear(VarBuilder vb, int in, int out, boolean withBias) {
        this(vb.get("weight", out, in), withBias ? vb.get("bias", out) : null);
    }

    public Tensor forward(Tensor x) {
        return Functional.linear(x, weight, bias);
    }

    public Tensor weight() {
        return weight;
    }

    public Tensor bias() {
        return bias;
    }

    public int inFeatures() {
        return weight.size(1);
    }

    public int outFeatures() {
        return weight.size(0);
    }
}
