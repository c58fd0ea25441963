package io.texforce.rewards.clip;

import io.texforce.tensor.Tensor;
import io.texforce.tensor.nn.WeightSource;

import java.util.LinkedHashMap;
import java.util.Map;
import java.util.Set;
import java.util.regex.Matcher;
import java.util.regex.Pattern;

/**
 * An OpenAI / open_clip checkpoint seen under transformers' {@code CLIPModel} names, so that one model class
 * reads both layouts. Renames are lazy: {@code attn.in_proj_weight} [3W, W] becomes the {@code q/k/v_proj}
 * weights by row slices, and {@code text_projection} [width, embed] and {@code visual.proj} become Linear weights
 * [embed, width] by transposition, when a weight is loaded. Keys with no counterpart keep their own name.
 */
public final class OpenClipSource implements WeightSource {
    private static final Pattern BLOCK = Pattern.compile("(visual\\.)?transformer\\.resblocks\\.(\\d+)\\.(.+)");
    private static final Map<String, String> BLOCK_PARTS = Map.of(
            "attn.out_proj.weight", "self_attn.out_proj.weight", "attn.out_proj.bias", "self_attn.out_proj.bias",
            "ln_1.weight", "layer_norm1.weight", "ln_1.bias", "layer_norm1.bias",
            "ln_2.weight", "layer_norm2.weight", "ln_2.bias", "layer_norm2.bias",
            "mlp.c_fc.weight", "mlp.fc1.weight", "mlp.c_fc.bias", "mlp.fc1.bias",
            "mlp.c_proj.weight", "mlp.fc2.weight", "mlp.c_proj.bias", "mlp.fc2.bias");
    private static final Map<String, String> TOP_LEVEL = Map.ofEntries(
            Map.entry("logit_scale", "logit_scale"),
            Map.entry("token_embedding.weight", "text_model.embeddings.token_embedding.weight"),
            Map.entry("positional_embedding", "text_model.embeddings.position_embedding.weight"),
            Map.entry("ln_final.weight", "text_model.final_layer_norm.weight"),
            Map.entry("ln_final.bias", "text_model.final_layer_norm.bias"),
            Map.entry("visual.class_embedding", "vision_model.embeddings.class_embedding"),
            Map.entry("visual.positional_embedding", "vision_model.embeddings.position_embedding.weight"),
            Map.entry("visual.conv1.weight", "vision_model.embeddings.patch_embedding.weight"),
            Map.entry("visual.ln_pre.weight", "vision_model.pre_layrnorm.weight"),
            Map.entry("visual.ln_pre.bias", "vision_model.pre_layrnorm.bias"),
            Map.entry("visual.ln_post.weight", "vision_model.post_layernorm.weight"),
            Map.entry("visual.ln_post.bias", "vision_model.post_layernorm.bias"));
    private static final Map<String, String> TRANSPOSED = Map.of(
            "text_projection", "text_projection.weight",
            "visual.proj", "visual_projection.weight");

    /** How one transformers-named weight is made from a stored one. */
    private record Mapping(String sourceKey, Kind kind, int part) {
    }

    private enum Kind { SAME, TRANSPOSE, THIRD }

    private final WeightSource source;
    private final Map<String, Mapping> mapped = new LinkedHashMap<>();

    public OpenClipSource(WeightSource source) {
        this.source = source;
        for (String key : source.keys()) {
            map(key);
        }
    }

    private void map(String key) {
        if (TOP_LEVEL.containsKey(key)) {
            mapped.put(TOP_LEVEL.get(key), new Mapping(key, Kind.SAME, 0));
            return;
        }
        if (TRANSPOSED.containsKey(key)) {
            mapped.put(TRANSPOSED.get(key), new Mapping(key, Kind.TRANSPOSE, 0));
            return;
        }
        Matcher m = BLOCK.matcher(key);
        if (m.matches()) {
            String layer = (m.group(1) != null ? "vision_model" : "text_model") + ".encoder.layers." + m.group(2) + ".";
            String rest = m.group(3);
            if (rest.equals("attn.in_proj_weight") || rest.equals("attn.in_proj_bias")) {
                String suffix = rest.endsWith("weight") ? "weight" : "bias";
                String[] names = {"q_proj", "k_proj", "v_proj"};
                for (int i = 0; i < 3; i++) {
                    mapped.put(layer + "self_attn." + names[i] + "." + suffix, new Mapping(key, Kind.THIRD, i));
                }
                return;
            }
            if (BLOCK_PARTS.containsKey(rest)) {
                mapped.put(layer + BLOCK_PARTS.get(rest), new Mapping(key, Kind.SAME, 0));
                return;
            }
        }
        mapped.put(key, new Mapping(key, Kind.SAME, 0));
    }

    @Override
    public boolean contains(String key) {
        return mapped.containsKey(key);
    }

    @Override
    public int[] shape(String key) {
        Mapping m = require(key);
        int[] s = source.shape(m.sourceKey());
        return switch (m.kind()) {
            case SAME -> s;
            case TRANSPOSE -> new int[]{s[1], s[0]};
            case THIRD -> {
                int[] t = s.clone();
                t[0] = s[0] / 3;
                yield t;
            }
        };
    }

    @Override
    public Tensor load(String key) {
        Mapping m = require(key);
        Tensor t = source.load(m.sourceKey());
        return switch (m.kind()) {
            case SAME -> t;
            case TRANSPOSE -> t.transpose(0, 1).contiguous();
            case THIRD -> {
                if (t.size(0) % 3 != 0) {
                    throw new IllegalArgumentException("'" + m.sourceKey() + "' in " + source.describe() + " has "
                            + t.size(0) + " rows, not three equal q/k/v parts");
                }
                int n = t.size(0) / 3;
                yield t.narrow(0, m.part() * n, n).contiguous();
            }
        };
    }

    private Mapping require(String key) {
        Mapping m = mapped.get(key);
        if (m == null) {
            throw new IllegalArgumentException("no weight '" + key + "' in " + describe());
        }
        return m;
    }

    @Override
    public Set<String> keys() {
        return mapped.keySet();
    }

    @Override
    public String describe() {
        return source.describe() + " (OpenAI/open_clip layout)";
    }
}
