package io.texforce.tensor.nn;

import io.texforce.tensor.Functional;
import io.texforce.tensor.Tensor;

/** Group norm over [N, C, ...] with per-channel affine weight and bias. */
public final class GroupNorm extends Module {
    private final Tensor weight;
    private final Tensor bias;
    private final int groups;
    private final float eps;

    public GroupNorm(Tensor weight, Tensor bias, int groups, float eps) {
        if (weight.size(0) % groups != 0) {
            throw new IllegalArgumentException("group norm: " + weight.size(0) + " channels are not divisible into "
                    + groups + " groups");
        }
        this.weight = param("weight", weight);
        this.bias = param("bias", bias);
        this.groups = groups;
        this.eps = eps;
    }

    public GroupNorm(VarBuilder vb, int groups, int channels, float eps) {
        this(vb.get("weight", channels), vb.get("bias", channels), groups, eps);
    }

    public Tensor forward(Tensor x) {
        return Functional.groupNorm(x, groups, weight, bias, eps);
    }
}
