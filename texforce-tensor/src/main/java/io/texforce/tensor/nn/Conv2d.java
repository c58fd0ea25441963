package io.texforce.tensor.nn;

import io.texforce.tensor.Functional;
import io.texforce.tensor.Tensor;

/** 2-D convolution, weight [out, in, k, k], square stride and padding. */
public final class Conv2d extends Module implements LoraLayer {
    private final Tensor weight;
    private final Tensor bias;
    private final int stride;
    private final int padding;
    private final LoraHost lora;

    public Conv2d(Tensor weight, Tensor bias, int stride, int padding) {
        this.lora = new LoraHost(weight);
        this.weight = param("weight", weight);
        this.bias = param("bias", bias);
        this.stride = stride;
        this.padding = padding;
    }

    public Conv2d(VarBuilder vb, int in, int out, int kernel, int stride, int padding, boolean withBias) {
        this(vb.getFrozen("weight", out, in, kernel, kernel), withBias ? vb.get("bias", out) : null, stride, padding);
    }

    /** The convolution plus every active LoRA adapter: down is a conv like this one, up a 1x1 conv. */
    public Tensor forward(Tensor x) {
        Tensor y = Functional.conv2d(x, weight, bias, stride, padding);
        if (lora.isEmpty()) {
            return y;
        }
        return lora.addTo(y, x, (in, a) -> Functional.conv2d(Functional.conv2d(in, a.down(), null, stride, padding),
                a.up(), null, 1, 0));
    }

    /** The LoRA adapters of this layer. */
    @Override
    public LoraHost lora() {
        return lora;
    }

    public Tensor weight() {
        return weight;
    }

    public Tensor bias() {
        return bias;
    }
}
