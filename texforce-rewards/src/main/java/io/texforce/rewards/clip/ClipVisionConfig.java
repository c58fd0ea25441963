package io.texforce.rewards.clip;

import com.fasterxml.jackson.databind.JsonNode;
import io.texforce.clip.text.Activation;

/**
 * The fields of a transformers {@code CLIPVisionConfig} that shape the image tower. Defaults are transformers'
 * own, used when a field is absent.
 */
public record ClipVisionConfig(int hiddenSize, int intermediateSize, int numHiddenLayers, int numAttentionHeads,
                               int patchSize, int imageSize, int numChannels, String hiddenAct, float layerNormEps) {

    public ClipVisionConfig {
        if (hiddenSize % numAttentionHeads != 0) {
            throw new IllegalArgumentException("vision hidden_size " + hiddenSize
                    + " is not divisible by num_attention_heads " + numAttentionHeads);
        }
        if (imageSize % patchSize != 0) {
            throw new IllegalArgumentException("vision image_size " + imageSize + " is not a multiple of patch_size "
                    + patchSize);
        }
        Activation.of(hiddenAct);
    }

    /** Patches per side. */
    public int gridSize() {
        return imageSize / patchSize;
    }

    /** Positions: one per patch plus the class token. */
    public int numPositions() {
        return gridSize() * gridSize() + 1;
    }

    public static ClipVisionConfig fromJson(JsonNode n) {
        return new ClipVisionConfig(
                n.path("hidden_size").asInt(768),
                n.path("intermediate_size").asInt(3072),
                n.path("num_hidden_layers").asInt(12),
                n.path("num_attention_heads").asInt(12),
                n.path("patch_size").asInt(32),
                n.path("image_size").asInt(224),
                n.path("num_channels").asInt(3),
                n.path("hidden_act").asText("quick_gelu"),
                (float) n.path("layer_norm_eps").asDouble(1e-5));
    }
}
