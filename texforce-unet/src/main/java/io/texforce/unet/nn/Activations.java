package io.texforce.unet.nn;

import io.texforce.tensor.Tensor;

import java.util.function.UnaryOperator;

/** diffusers' {@code get_activation}: the activations its configs name in {@code act_fn}. */
public final class Activations {
    private Activations() {
    }

    public static UnaryOperator<Tensor> of(String name) {
        return switch (name) {
            case "silu", "swish" -> Tensor::silu;
            case "gelu" -> Tensor::gelu;
            case "relu" -> Tensor::relu;
            case "mish" -> x -> x.mul(x.exp().add(1f).log().tanh());
            default -> throw new IllegalArgumentException("unsupported act_fn '" + name + "' (silu, swish, gelu, relu, mish)");
        };
    }
}
