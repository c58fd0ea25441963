package io.texforce.rewards.clip;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import io.texforce.clip.text.ClipTextConfig;

import java.io.IOException;
import java.nio.file.Path;

/**
 * The shape of a two-tower CLIP model, read from a transformers {@code CLIPModel} config.json or an open_clip
 * model config.
 *
 * @param projectionDim the joint embedding size
 * @param eosTokenId    the end-of-text id where the text tower pools, unless {@code poolAtArgmax}
 * @param poolAtArgmax  pool at the position of the largest id, as OpenAI CLIP does (its EOS has the largest id)
 */
public record ClipModelConfig(ClipTextConfig text, ClipVisionConfig vision, int projectionDim, int eosTokenId,
                              boolean poolAtArgmax) {

    /** Reads a transformers {@code CLIPModel} config.json (with {@code text_config} and {@code vision_config}). */
    public static ClipModelConfig loadTransformers(Path configJson) {
        JsonNode root = readJson(configJson);
        if (!root.has("vision_config")) {
            throw new IllegalArgumentException(configJson + " has no vision_config: not a CLIPModel config");
        }
        int projection = root.path("projection_dim").asInt(512);
        ClipTextConfig t = ClipTextConfig.fromJson(root.path("text_config"));
        t = new ClipTextConfig(t.vocabSize(), t.hiddenSize(), t.intermediateSize(), t.numHiddenLayers(),
                t.numAttentionHeads(), t.maxPositionEmbeddings(), t.hiddenAct(), t.layerNormEps(), projection);
        int eos = root.path("text_config").path("eos_token_id").asInt(2);
        // transformers' rule: configs from before the EOS id was recorded say 2 and pool at the argmax.
        return new ClipModelConfig(t, ClipVisionConfig.fromJson(root.path("vision_config")), projection, eos, eos == 2);
    }

    /**
     * Reads an open_clip model config ({@code embed_dim}, {@code vision_cfg}, {@code text_cfg}, {@code quick_gelu}),
     * either bare or as the {@code model_cfg} of a Hugging Face {@code open_clip_config.json}.
     */
    public static ClipModelConfig loadOpenClip(Path configJson) {
        JsonNode root = readJson(configJson);
        return openClip(root.has("model_cfg") ? root.get("model_cfg") : root, configJson.toString());
    }

    /** The open_clip config {@code n}; {@code source} names it in errors. */
    public static ClipModelConfig openClip(JsonNode n, String source) {
        if (!n.has("embed_dim") || !n.has("vision_cfg") || !n.has("text_cfg")) {
            throw new IllegalArgumentException(source + " is not an open_clip model config (needs embed_dim, vision_cfg"
                    + " and text_cfg)");
        }
        String act = n.path("quick_gelu").asBoolean(false) ? "quick_gelu" : "gelu";
        JsonNode v = n.get("vision_cfg"), t = n.get("text_cfg");
        int vWidth = v.path("width").asInt(768);
        double vMlp = v.path("mlp_ratio").asDouble(4.0);
        ClipVisionConfig vision = new ClipVisionConfig(vWidth, (int) (vWidth * vMlp), v.path("layers").asInt(12),
                vWidth / v.path("head_width").asInt(64), v.path("patch_size").asInt(16), v.path("image_size").asInt(224),
                3, act, 1e-5f);
        int tWidth = t.path("width").asInt(512);
        double tMlp = t.path("mlp_ratio").asDouble(4.0);
        int embed = n.get("embed_dim").asInt();
        ClipTextConfig text = new ClipTextConfig(t.path("vocab_size").asInt(49408), tWidth, (int) (tWidth * tMlp),
                t.path("layers").asInt(12), t.path("heads").asInt(8), t.path("context_length").asInt(77), act, 1e-5f,
                embed);
        return new ClipModelConfig(text, vision, embed, 49407, true);
    }

    /**
     * open_clip's built-in architectures that reward models use: {@code ViT-H-14} (HPSv2) and {@code ViT-L-14}
     * (OpenAI's CLIP ViT-L/14 behind the LAION aesthetic predictor).
     */
    public static ClipModelConfig openClipPreset(String name) {
        String json = switch (name) {
            case "ViT-H-14" -> """
                    {"embed_dim": 1024, "quick_gelu": false,
                     "vision_cfg": {"image_size": 224, "layers": 32, "width": 1280, "head_width": 80, "patch_size": 14},
                     "text_cfg": {"context_length": 77, "vocab_size": 49408, "width": 1024, "heads": 16, "layers": 24}}""";
            case "ViT-L-14" -> """
                    {"embed_dim": 768, "quick_gelu": true,
                     "vision_cfg": {"image_size": 224, "layers": 24, "width": 1024, "patch_size": 14},
                     "text_cfg": {"context_length": 77, "vocab_size": 49408, "width": 768, "heads": 12, "layers": 12}}""";
            default -> throw new IllegalArgumentException("unknown open_clip architecture '" + name
                    + "' (built in: ViT-H-14, ViT-L-14; pass a config file for others)");
        };
        try {
            return openClip(new ObjectMapper().readTree(json), name);
        } catch (IOException e) {
            throw new IllegalStateException(e);
        }
    }

    private static JsonNode readJson(Path file) {
        try {
            JsonNode root = new ObjectMapper().readTree(file.toFile());
            if (root == null || !root.isObject()) {
                throw new IllegalArgumentException(file + " is not a JSON object");
            }
            return root;
        } catch (IOException e) {
            throw new IllegalArgumentException("cannot read CLIP config " + file + ": " + e.getMessage(), e);
        }
    }
}
