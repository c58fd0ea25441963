package io.texforce.tensor.lora;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;

import java.io.IOException;
import java.nio.file.Path;
import java.util.Iterator;
import java.util.LinkedHashMap;
import java.util.Map;

/**
 * What a file's {@code __metadata__["lora_adapter_metadata"]} (diffusers stores one peft {@code LoraConfig} per
 * component, keys prefixed {@code "<component>."}) says about the scale of each adapted layer: {@code lora_alpha},
 * the per-layer {@code alpha_pattern}, and {@code use_rslora} (scale alpha / sqrt(r) instead of alpha / r).
 * Ranks need no rule: they are the shapes of the stored matrices.
 *
 * @param alpha        the config's alpha; null when the file has no config for the component (then alpha = r,
 *                     diffusers' convention for files without metadata)
 * @param alphaPattern peft patterns (regular expressions matched against the end of the module path) to alpha,
 *                     in file order: the first match wins, as in peft
 * @param rsLora       peft's rank-stabilised scaling
 */
public record LoraScaleRules(Float alpha, Map<String, Float> alphaPattern, boolean rsLora) {
    /** No metadata: alpha = rank for every layer. */
    public static final LoraScaleRules NONE = new LoraScaleRules(null, Map.of(), false);

    /** peft's {@code LoraConfig.lora_alpha} default, which diffusers gets when a config omits it. */
    private static final float PEFT_DEFAULT_ALPHA = 8f;

    public LoraScaleRules {
        alphaPattern = java.util.Collections.unmodifiableMap(new LinkedHashMap<>(alphaPattern));
    }

    /**
     * The rules for {@code component} in a {@code lora_adapter_metadata} JSON string (null: {@link #NONE}). A config
     * whose keys carry no component prefix (peft's own adapter_config layout) applies to every component.
     */
    public static LoraScaleRules parse(String json, String component, Path file) {
        if (json == null) {
            return NONE;
        }
        JsonNode root;
        try {
            root = new ObjectMapper().readTree(json);
        } catch (IOException e) {
            throw new IllegalArgumentException(file + ": malformed lora_adapter_metadata JSON: " + e.getMessage(), e);
        }
        Map<String, JsonNode> config = new LinkedHashMap<>();
        for (Iterator<Map.Entry<String, JsonNode>> it = root.fields(); it.hasNext(); ) {
            var e = it.next();
            if (e.getKey().startsWith(component + ".")) {
                config.put(e.getKey().substring(component.length() + 1), e.getValue());
            }
        }
        if (config.isEmpty() && (root.has("lora_alpha") || root.has("r"))) {
            root.fields().forEachRemaining(e -> config.put(e.getKey(), e.getValue()));
        }
        if (config.isEmpty()) {
            return NONE;
        }
        for (String unsupported : new String[]{"use_dora", "lora_bias"}) {
            JsonNode flag = config.get(unsupported);
            if (flag != null && flag.asBoolean(false)) {
                throw new IllegalArgumentException(file + ": " + component + " adapter config sets " + unsupported
                        + " = true, which is not supported (plain LoRA only)");
            }
        }
        JsonNode a = config.get("lora_alpha");
        float alpha = a != null && a.isNumber() ? (float) a.asDouble() : PEFT_DEFAULT_ALPHA;
        Map<String, Float> pattern = new LinkedHashMap<>();
        JsonNode p = config.get("alpha_pattern");
        if (p != null && p.isObject()) {
            p.fields().forEachRemaining(e -> {
                if (!e.getValue().isNumber()) {
                    throw new IllegalArgumentException(file + ": " + component + ".alpha_pattern[" + e.getKey()
                            + "] is not a number: " + e.getValue());
                }
                PeftNames.checkPattern(e.getKey(), file);
                pattern.put(e.getKey(), (float) e.getValue().asDouble());
            });
        }
        JsonNode rs = config.get("use_rslora");
        return new LoraScaleRules(alpha, pattern, rs != null && rs.asBoolean(false));
    }

    /**
     * The alpha to give an adapter of rank {@code rank} on the layer the file's writer called {@code writerPath}, such
     * that alpha / rank is the scale peft uses; null means alpha = rank.
     */
    public Float alphaFor(String writerPath, int rank) {
        if (alpha == null) {
            return null;
        }
        float a = alpha;
        for (var e : alphaPattern.entrySet()) {
            if (PeftNames.patternMatches(e.getKey(), writerPath)) {
                a = e.getValue();
                break;
            }
        }
        // rsLoRA scales by alpha / sqrt(r); the adapter scales by alpha / r, so store alpha * sqrt(r).
        return rsLora ? (float) (a * Math.sqrt(rank)) : a;
    }
}
