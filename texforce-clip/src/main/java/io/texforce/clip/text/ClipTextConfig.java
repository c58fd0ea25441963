package io.texforce.clip.text;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;

import java.io.IOException;
import java.nio.file.Path;

/**
 * The fields of a transformers {@code CLIPTextConfig} ({@code text_encoder/config.json}) that shape the model.
 * Defaults are transformers' own, used when a field is absent.
 */
public record ClipTextConfig(int vocabSize, int hiddenSize, int intermediateSize, int numHiddenLayers,
                             int numAttentionHeads, int maxPositionEmbeddings, String hiddenAct, float layerNormEps,
                             int projectionDim) {

    public ClipTextConfig {
        if (hiddenSize % numAttentionHeads != 0) {
            throw new IllegalArgumentException("hidden_size " + hiddenSize + " is not divisible by num_attention_heads "
                    + numAttentionHeads);
        }
        Activation.of(hiddenAct);
    }

    public int headDim() {
        return hiddenSize / numAttentionHeads;
    }

    /** Reads {@code config.json}; for a full CLIPModel config the {@code text_config} object is used. */
    public static ClipTextConfig load(Path configJson) {
        JsonNode root;
        try {
            root = new ObjectMapper().readTree(configJson.toFile());
        } catch (IOException e) {
            throw new IllegalArgumentException("cannot read CLIP text config " + configJson + ": " + e.getMessage(), e);
        }
        if (root == null || !root.isObject()) {
            throw new IllegalArgumentException(configJson + " is not a JSON object");
        }
        return fromJson(root.has("text_config") ? root.get("text_config") : root);
    }

    public static ClipTextConfig fromJson(JsonNode n) {
        return new ClipTextConfig(
                n.path("vocab_size").asInt(49408),
                n.path("hidden_size").asInt(512),
                n.path("intermediate_size").asInt(2048),
                n.path("num_hidden_layers").asInt(12),
                n.path("num_attention_heads").asInt(8),
                n.path("max_position_embeddings").asInt(77),
                n.path("hidden_act").asText("quick_gelu"),
                (float) n.path("layer_norm_eps").asDouble(1e-5),
                n.path("projection_dim").asInt(512));
    }
}
