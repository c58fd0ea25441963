package io.texforce.tensor.lora;

import io.texforce.tensor.Tensor;

/**
 * The stored weights of one adapted layer, whatever the file's naming scheme: the model path of the layer
 * ({@code text_model.encoder.layers.0.self_attn.q_proj}), down = lora_A, up = lora_B, and alpha when the file
 * says it (null: alpha = rank, as diffusers assumes).
 */
public record LoraWeights(String modulePath, Tensor down, Tensor up, Float alpha) {
    public int rank() {
        return down.size(0);
    }

    public float alphaOrRank() {
        return alpha == null || alpha == 0f ? rank() : alpha;
    }
}
