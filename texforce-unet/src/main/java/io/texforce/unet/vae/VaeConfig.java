package io.texforce.unet.vae;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;

import java.io.IOException;
import java.nio.file.Path;

/** The fields of diffusers' {@code AutoencoderKL} config; absent fields take diffusers' defaults. */
public record VaeConfig(int inChannels, int outChannels, int[] blockOutChannels, int layersPerBlock, String actFn,
                        int latentChannels, int normNumGroups, float scalingFactor, boolean useQuantConv,
                        boolean usePostQuantConv, boolean midBlockAddAttention) {

    public static VaeConfig load(Path configJson) {
        JsonNode n;
        try {
            n = new ObjectMapper().readTree(configJson.toFile());
        } catch (IOException e) {
            throw new IllegalArgumentException("cannot read VAE config " + configJson + ": " + e.getMessage(), e);
        }
        return fromJson(n, configJson.toString());
    }

    public static VaeConfig fromJson(JsonNode n, String source) {
        int[] boc;
        JsonNode b = n.get("block_out_channels");
        if (b == null || !b.isArray()) {
            boc = new int[]{64};
        } else {
            boc = new int[b.size()];
            for (int i = 0; i < boc.length; i++) {
                boc[i] = b.get(i).asInt();
            }
        }
        for (String key : new String[]{"down_block_types", "up_block_types"}) {
            JsonNode types = n.get(key);
            if (types != null) {
                if (types.size() != boc.length) {
                    throw new IllegalArgumentException(source + ": " + key + " has " + types.size() + " entries for "
                            + boc.length + " block_out_channels");
                }
                String want = key.startsWith("down") ? "DownEncoderBlock2D" : "UpDecoderBlock2D";
                types.forEach(t -> {
                    if (!t.asText().equals(want)) {
                        throw new IllegalArgumentException(source + ": unsupported VAE block type '" + t.asText() + "'");
                    }
                });
            }
        }
        return new VaeConfig(
                n.path("in_channels").asInt(3),
                n.path("out_channels").asInt(3),
                boc,
                n.path("layers_per_block").asInt(1),
                n.path("act_fn").asText("silu"),
                n.path("latent_channels").asInt(4),
                n.path("norm_num_groups").asInt(32),
                (float) n.path("scaling_factor").asDouble(0.18215),
                n.path("use_quant_conv").asBoolean(true),
                n.path("use_post_quant_conv").asBoolean(true),
                n.path("mid_block_add_attention").asBoolean(true));
    }
}
