package io.texforce.tensor.nn;

import io.texforce.tensor.Functional;
import io.texforce.tensor.Tensor;

/** 2-D convolution, weight [out, in, k, k], square stride and padding. */
public final class Conv2d extends Module {
    private final Tensor weight;
    private final Tensor bias;
    private final int stride;
    private final int padding;

    public Conv2d(Tensor weight, Tensor bias, int stride, int padding) {
        this.weight = param("weight", weight);
        this.bias = param("bias", bias);
        this.stride = stride;
        this.padding = padding;
    }

    public Conv2d(VarBuilder vb, int in, int out, int kernel, int stride, int padding, boolean withBias) {
        this(vb.get("weight", out, in, kernel, kernel), withBias ? vb.get("bias", out) : null, stride, padding);
    }

    public Tensor forward(Tensor x) {
        return Functional.conv2d(x, weight, bias, stride, padding);
    }

    public Tensor weight() {
        return weight;
    }

    public Tensor bias() {
        return bias;
    }
}
