package io.texforce.clip.text;

import io.texforce.tensor.Tensor;

import java.util.function.UnaryOperator;

/** The activation functions transformers names in {@code hidden_act}. */
public final class Activation {
    private Activation() {
    }

    public static UnaryOperator<Tensor> of(String name) {
        return switch (name) {
            case "quick_gelu" -> Tensor::quickGelu;
            case "gelu" -> Tensor::gelu;
            case "gelu_new", "gelu_pytorch_tanh", "gelu_fast" -> Tensor::geluTanh;
            case "relu" -> Tensor::relu;
            case "silu", "swish" -> Tensor::silu;
            default -> throw new IllegalArgumentException("unsupported hidden_act '" + name
                    + "' (supported: quick_gelu, gelu, gelu_new, gelu_pytorch_tanh, relu, silu)");
        };
    }
}
