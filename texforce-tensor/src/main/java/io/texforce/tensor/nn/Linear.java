package io.texforce.tensor.nn;

import io.texforce.tensor.Functional;
import io.texforce.tensor.Tensor;

/** {@code y = x W^T + b}, weight [out, in]. */
public final class Linear extends Module implements LoraLayer {
    private final Tensor weight;
    private final Tensor bias;
    private final LoraHost lora;

    public Linear(Tensor weight, Tensor bias) {
        this.weight = param("weight", weight);
        this.bias = param("bias", bias);
        this.lora = new LoraHost(weight);
    }

    /**
     * Loads {@code weight} [out, in] (frozen, in the builder's weight dtype) and, when {@code withBias}, the float32
     * {@code bias} [out] from {@code vb}.
     */
    public Linear(VarBuilder vb, int in, int out, boolean withBias) {
        this(vb.getFrozen("weight", out, in), withBias ? vb.get("bias", out) : null);
    }

    /**
     * x W^T + b, plus every active LoRA adapter's scale * (x down^T) up^T. A single active adapter on a frozen weight
     * runs as the backend's fused LoRA op where it has one ({@link io.texforce.tensor.Backend#fusesLora}).
     */
    public Tensor forward(Tensor x) {
        LoraAdapter single = lora.singleActive();
        if (single != null && !weight.requiresGrad() && weight.backend().fusesLora(weight, single.rank())) {
            Tensor y = Functional.loraLinear(x, weight, single.down(), single.up(), single.scale());
            return bias == null ? y : y.add(bias);
        }
        Tensor y = Functional.linear(x, weight, bias);
        if (lora.isEmpty()) {
            return y;
        }
        return lora.addTo(y, x, (in, a) -> Functional.linear(Functional.linear(in, a.down(), null), a.up(), null));
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

    public int inFeatures() {
        return weight.size(1);
    }

    public int outFeatures() {
        return weight.size(0);
    }
}
