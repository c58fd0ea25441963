package io.texforce.unet.singlefile;

import io.texforce.clip.text.ClipTextConfig;

import java.util.List;
import java.util.regex.Matcher;
import java.util.regex.Pattern;

/**
 * The text encoder of an original checkpoint under transformers' {@code CLIPTextModel} names. SD 1.x stores the
 * transformers model itself ({@code cond_stage_model.transformer.text_model.*}, in old files without the
 * {@code text_model.} level); SD 2.x stores OpenCLIP's ({@code cond_stage_model.model.*}), whose fused q/k/v
 * projection is split into three, and whose last layers beyond the config's {@code num_hidden_layers} (SD 2.x uses
 * the penultimate layer's output, so diffusers' text encoder has 23 of its 24) are left out, with its projection.
 */
final class LdmTextEncoderLayout {
    static final String SD1_PREFIX = "cond_stage_model.transformer.";
    static final String OPEN_CLIP_PREFIX = "cond_stage_model.model.";
    private static final Pattern BLOCK = Pattern.compile("transformer\\.resblocks\\.(\\d+)\\.(.+)");
    private static final List<String[]> BLOCK_RENAMES = List.of(
            new String[]{"ln_1.", "layer_norm1."}, new String[]{"ln_2.", "layer_norm2."},
            new String[]{"attn.out_proj.", "self_attn.out_proj."}, new String[]{"mlp.c_fc.", "mlp.fc1."},
            new String[]{"mlp.c_proj.", "mlp.fc2."});

    private LdmTextEncoderLayout() {
    }

    /** Adds the SD 1.x key {@code key} (below {@link #SD1_PREFIX}); the position-id buffer is left out. */
    static void mapSd1(MappedWeights out, String key) {
        String rest = key.substring(SD1_PREFIX.length());
        if (!rest.endsWith("position_ids")) {
            out.put(rest.startsWith("text_model.") ? rest : "text_model." + rest, key);
        }
    }

    /** Adds the OpenCLIP key {@code key} (below {@link #OPEN_CLIP_PREFIX}); false when it has no place. */
    static boolean mapOpenClip(MappedWeights out, String key, ClipTextConfig c) {
        String rest = key.substring(OPEN_CLIP_PREFIX.length());
        switch (rest) {
            case "token_embedding.weight" -> out.put("text_model.embeddings.token_embedding.weight", key);
            case "positional_embedding" -> out.put("text_model.embeddings.position_embedding.weight", key);
            case "ln_final.weight", "ln_final.bias" ->
                    out.put("text_model.final_layer_norm." + rest.substring("ln_final.".length()), key);
            case "text_projection", "logit_scale", "attn_mask" -> {
                // the image-text projection and temperature of the full CLIP model: not part of the text encoder
            }
            default -> {
                Matcher m = BLOCK.matcher(rest);
                if (!m.matches()) {
                    return false;
                }
                int layer = Integer.parseInt(m.group(1));
                if (layer >= c.numHiddenLayers()) {
                    return true;  // past the layer whose output SD 2.x uses
                }
                String layerPrefix = "text_model.encoder.layers." + layer + ".";
                String inner = m.group(2);
                int d = c.hiddenSize();
                if (inner.equals("attn.in_proj_weight") || inner.equals("attn.in_proj_bias")) {
                    String kind = inner.endsWith("weight") ? "weight" : "bias";
                    String[] names = {"q_proj", "k_proj", "v_proj"};
                    for (int i = 0; i < 3; i++) {
                        out.putRows(layerPrefix + "self_attn." + names[i] + "." + kind, key, i * d, d);
                    }
                    return true;
                }
                for (String[] r : BLOCK_RENAMES) {
                    if (inner.startsWith(r[0])) {
                        out.put(layerPrefix + r[1] + inner.substring(r[0].length()), key);
                        return true;
                    }
                }
                return false;
            }
        }
        return true;
    }
}
