package io.texforce.unet.model;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;

import java.io.IOException;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;

/**
 * The fields of diffusers' {@code UNet2DConditionModel} config that SD 1.x / 2.x use, with per-block values
 * expanded to one entry per down block. Absent fields take diffusers' defaults.
 *
 * <p>{@code numAttentionHeads} applies diffusers' rule: when {@code num_attention_heads} is absent,
 * {@code attention_head_dim} is in fact the number of heads (a naming bug kept for compatibility), so SD 1.5's
 * {@code attention_head_dim: 8} means 8 heads of 40/80/160 channels and SD 2.1's [5, 10, 20, 20] means heads of 64.
 */
public record UNetConfig(int sampleSize, int inChannels, int outChannels, boolean centerInputSample,
                         boolean flipSinToCos, float freqShift, List<String> downBlockTypes, String midBlockType,
                         List<String> upBlockTypes, boolean[] onlyCrossAttention, int[] blockOutChannels,
                         int[] layersPerBlock, int downsamplePadding, float midBlockScaleFactor, String actFn,
                         int normNumGroups, float normEps, int[] crossAttentionDim, int[] transformerLayersPerBlock,
                         int[] numAttentionHeads, boolean useLinearProjection, boolean upcastAttention,
                         String resnetTimeScaleShift, int convInKernel, int convOutKernel) {

    public int blocks() {
        return blockOutChannels.length;
    }

    public int timeEmbedDim() {
        return blockOutChannels[0] * 4;
    }

    public static UNetConfig load(Path configJson) {
        JsonNode n;
        try {
            n = new ObjectMapper().readTree(configJson.toFile());
        } catch (IOException e) {
            throw new IllegalArgumentException("cannot read U-Net config " + configJson + ": " + e.getMessage(), e);
        }
        return fromJson(n, configJson.toString());
    }

    public static UNetConfig fromJson(JsonNode n, String source) {
        for (String f : List.of("class_embed_type", "addition_embed_type", "encoder_hid_dim", "time_cond_proj_dim",
                "num_class_embeds")) {
            if (n.hasNonNull(f)) {
                throw new IllegalArgumentException(source + ": unsupported U-Net feature " + f + " = " + n.get(f));
            }
        }
        if (n.path("dual_cross_attention").asBoolean(false)) {
            throw new IllegalArgumentException(source + ": dual_cross_attention is not supported");
        }
        // Fields of diffusers' UNet2DConditionModel that change what it computes and that this implementation does
        // not have: a config that sets them is refused by name rather than run as a different model.
        for (String f : List.of("time_embedding_dim", "time_embedding_act_fn", "timestep_post_act",
                "cross_attention_norm", "reverse_transformer_layers_per_block", "encoder_hid_dim_type",
                "projection_class_embeddings_input_dim", "addition_time_embed_dim")) {
            if (n.hasNonNull(f)) {
                throw new IllegalArgumentException(source + ": unsupported U-Net feature " + f + " = " + n.get(f));
            }
        }
        if (n.path("resnet_skip_time_act").asBoolean(false)) {
            throw new IllegalArgumentException(source + ": resnet_skip_time_act = true is not supported");
        }
        if (n.has("resnet_out_scale_factor") && n.get("resnet_out_scale_factor").asDouble(1) != 1) {
            throw new IllegalArgumentException(source + ": resnet_out_scale_factor = " + n.get("resnet_out_scale_factor")
                    + " is not supported (only 1.0)");
        }
        String attentionType = n.path("attention_type").asText("default");
        if (!attentionType.equals("default")) {
            throw new IllegalArgumentException(source + ": attention_type '" + attentionType + "' is not supported");
        }
        if (n.has("norm_num_groups") && n.get("norm_num_groups").isNull()) {
            throw new IllegalArgumentException(source + ": norm_num_groups = null (no output norm) is not supported");
        }
        String timeType = n.path("time_embedding_type").asText("positional");
        if (!timeType.equals("positional")) {
            throw new IllegalArgumentException(source + ": time_embedding_type '" + timeType + "' is not supported");
        }
        JsonNode bocNode = n.get("block_out_channels");
        int[] boc = ints(bocNode, bocNode != null && bocNode.isArray() ? bocNode.size() : 4,
                new int[]{320, 640, 1280, 1280}, source, "block_out_channels");
        int blocks = boc.length;
        List<String> down = strings(n.get("down_block_types"), List.of("CrossAttnDownBlock2D", "CrossAttnDownBlock2D",
                "CrossAttnDownBlock2D", "DownBlock2D"));
        List<String> up = strings(n.get("up_block_types"), List.of("UpBlock2D", "CrossAttnUpBlock2D",
                "CrossAttnUpBlock2D", "CrossAttnUpBlock2D"));
        if (down.size() != blocks || up.size() != blocks) {
            throw new IllegalArgumentException(source + ": " + blocks + " block_out_channels but " + down.size()
                    + " down_block_types and " + up.size() + " up_block_types");
        }
        for (String t : down) {
            if (!t.equals("CrossAttnDownBlock2D") && !t.equals("DownBlock2D")) {
                throw new IllegalArgumentException(source + ": unsupported down block type '" + t + "'");
            }
        }
        for (String t : up) {
            if (!t.equals("CrossAttnUpBlock2D") && !t.equals("UpBlock2D")) {
                throw new IllegalArgumentException(source + ": unsupported up block type '" + t + "'");
            }
        }
        if (n.has("mid_block_type") && n.get("mid_block_type").isNull()) {
            throw new IllegalArgumentException(source + ": mid_block_type = null (no mid block) is not supported");
        }
        String mid = n.hasNonNull("mid_block_type") ? n.get("mid_block_type").asText() : "UNetMidBlock2DCrossAttn";
        if (!mid.equals("UNetMidBlock2DCrossAttn")) {
            throw new IllegalArgumentException(source + ": unsupported mid_block_type '" + mid + "'");
        }
        JsonNode heads = n.hasNonNull("num_attention_heads") ? n.get("num_attention_heads") : n.get("attention_head_dim");
        boolean[] onlyCross = new boolean[blocks];
        JsonNode oca = n.get("only_cross_attention");
        if (oca != null && oca.isArray() && oca.size() != blocks) {
            throw new IllegalArgumentException(source + ": only_cross_attention has " + oca.size() + " entries for "
                    + blocks + " blocks");
        }
        for (int i = 0; i < blocks; i++) {
            onlyCross[i] = oca != null && (oca.isArray() ? oca.get(i).asBoolean() : oca.asBoolean());
        }
        String shift = n.path("resnet_time_scale_shift").asText("default");
        if (!shift.equals("default") && !shift.equals("scale_shift")) {
            throw new IllegalArgumentException(source + ": unsupported resnet_time_scale_shift '" + shift + "'");
        }
        return new UNetConfig(
                n.path("sample_size").asInt(64),
                n.path("in_channels").asInt(4),
                n.path("out_channels").asInt(4),
                n.path("center_input_sample").asBoolean(false),
                n.path("flip_sin_to_cos").asBoolean(true),
                (float) n.path("freq_shift").asDouble(0),
                down, mid, up, onlyCross, boc,
                ints(n.get("layers_per_block"), blocks, new int[]{2}, source, "layers_per_block"),
                n.path("downsample_padding").asInt(1),
                (float) n.path("mid_block_scale_factor").asDouble(1),
                n.path("act_fn").asText("silu"),
                n.path("norm_num_groups").asInt(32),
                (float) n.path("norm_eps").asDouble(1e-5),
                ints(n.get("cross_attention_dim"), blocks, new int[]{1280}, source, "cross_attention_dim"),
                ints(n.get("transformer_layers_per_block"), blocks, new int[]{1}, source, "transformer_layers_per_block"),
                ints(heads, blocks, new int[]{8}, source, "attention_head_dim"),
                n.path("use_linear_projection").asBoolean(false),
                n.path("upcast_attention").asBoolean(false),
                shift,
                n.path("conv_in_kernel").asInt(3),
                n.path("conv_out_kernel").asInt(3));
    }

    /** An int or a per-block list; a single value (or a one-element default) is repeated for every block. */
    private static int[] ints(JsonNode v, int blocks, int[] dflt, String source, String field) {
        int[] out = new int[blocks];
        if (v == null || v.isNull()) {
            for (int i = 0; i < blocks; i++) {
                out[i] = dflt.length == blocks ? dflt[i] : dflt[0];
            }
            return out;
        }
        if (v.isArray()) {
            if (v.size() != blocks) {
                throw new IllegalArgumentException(source + ": " + field + " has " + v.size() + " entries for " + blocks
                        + " blocks");
            }
            for (int i = 0; i < blocks; i++) {
                out[i] = whole(v.get(i), source, field);
            }
            return out;
        }
        java.util.Arrays.fill(out, whole(v, source, field));
        return out;
    }

    /** A whole number, or an error naming the field (a nested list, as SDXL-style per-layer depths, included). */
    private static int whole(JsonNode v, String source, String field) {
        if (!v.isNumber() || v.asDouble() != Math.rint(v.asDouble())) {
            throw new IllegalArgumentException(source + ": " + field + " entry " + v + " is not a whole number"
                    + (v.isArray() ? " (nested per-layer lists are not supported)" : ""));
        }
        return v.asInt();
    }

    private static List<String> strings(JsonNode v, List<String> dflt) {
        if (v == null || v.isNull()) {
            return dflt;
        }
        List<String> out = new ArrayList<>();
        v.forEach(e -> out.add(e.asText()));
        return out;
    }
}
