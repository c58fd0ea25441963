package io.texforce.tensor.nn;

import io.texforce.tensor.Functional;
import io.texforce.tensor.Tensor;

/** Layer norm over the last dimension with affine weight and bias. */
public final class LayerNorm extends Module {
    private final Tensor weight;
    private final Tensor bias;
    private final float eps;

    public LayerNorm(Tensor weight, Tensor bias, float eps) {
        this.weight = param("weight", weight);
        this.bias = param("bias", bias);
        this.eps = eps;
    }

    public LayerNorm(VarBuilder vb, int dim, float eps) {
        this(vb.get("weight", dim), vb.get("bias", dim), eps);
    }

    public Tensor forward(Tensor x) {
        return Functional.layerNorm(x, weight, bias, eps);
    }
}
