package io.texforce.tensor.lora;

import io.texforce.tensor.Tensor;
import io.texforce.tensor.io.SafeTensors;
import io.texforce.tensor.nn.LoraLayer;
import io.texforce.tensor.nn.Module;

import java.io.IOException;
import java.io.UncheckedIOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.HashMap;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.Set;

/**
 * Reads a LoRA safetensors file in any of the layouts diffusers accepts (peft {@code lora_A/lora_B}, older
 * {@code lora_linear_layer.down/up} and {@code processor.to_q_lora}, kohya/A1111 {@code lora_down/lora_up/alpha})
 * and resolves its tensors to the layers of one model component.
 */
public final class LoraFile {
    /** Key prefixes of pipeline components; tensors under another component's prefix are left to that component. */
    private static final List<String> COMPONENT_PREFIXES = List.of("text_encoder.", "text_encoder_2.", "unet.",
            "transformer.", "prior.");

    /** Where diffusers keeps the peft configs of the adapters in a file's {@code __metadata__}. */
    private static final String ADAPTER_METADATA = "lora_adapter_metadata";

    private final Path path;
    private final Map<String, Tensor> tensors;
    private final Map<String, String> metadata;

    private LoraFile(Path path, Map<String, Tensor> tensors, Map<String, String> metadata) {
        this.path = path;
        this.tensors = tensors;
        this.metadata = metadata;
    }

    /**
     * Reads a LoRA file, or a peft adapter folder ({@code PeftModel.save_pretrained}: {@code adapter_model.safetensors}
     * with {@code adapter_config.json}). A peft adapter file's config, which peft keeps beside it rather than in the
     * file, supplies lora_alpha, alpha_pattern and use_rslora when the file carries no adapter metadata of its own.
     */
    public static LoraFile read(Path file) {
        if (Files.isDirectory(file)) {
            Path adapter = file.resolve("adapter_model.safetensors");
            if (!Files.isRegularFile(adapter)) {
                throw new IllegalArgumentException(file + " is a folder without adapter_model.safetensors"
                        + (Files.exists(file.resolve("adapter_model.bin"))
                        ? " (its adapter_model.bin is a pickle: texforce convert turns it into safetensors)" : ""));
            }
            file = adapter;
        }
        try (SafeTensors st = SafeTensors.open(file)) {
            Map<String, String> metadata = new LinkedHashMap<>(st.metadata());
            Path config = file.resolveSibling("adapter_config.json");
            if (!metadata.containsKey(ADAPTER_METADATA) && file.getFileName().toString().startsWith("adapter_model")
                    && Files.isRegularFile(config)) {
                try {
                    metadata.put(ADAPTER_METADATA, Files.readString(config));
                } catch (IOException e) {
                    throw new UncheckedIOException("cannot read " + config + ": " + e.getMessage(), e);
                }
            }
            return new LoraFile(file, st.loadAll(), metadata);
        }
    }

    public Path path() {
        return path;
    }

    public Map<String, String> metadata() {
        return metadata;
    }

    /**
     * The adapters this file holds for {@code component} ({@code "text_encoder"} or {@code "unet"}; kohya prefix
     * {@code "lora_te"} or {@code "lora_unet"}), keyed by layer path in {@code root}. Keys under another
     * component are skipped; a key of this component that names no LoRA-capable layer, an incomplete pair, or
     * a shape that does not fit is an error naming the key.
     */
    public Map<String, LoraWeights> resolve(Module root, String component, String kohyaPrefix) {
        Map<String, LoraLayer> layers = new LinkedHashMap<>();
        Map<String, String> kohya = new HashMap<>();
        root.namedModules().forEach((p, m) -> {
            if (m instanceof LoraLayer l) {
                layers.put(p, l);
                kohya.put(LoraKeys.kohyaName(kohyaPrefix, p), p);
            }
        });
        Map<String, Tensor[]> parts = new LinkedHashMap<>();
        Map<String, String> writerPaths = new HashMap<>();
        List<String> unknown = new ArrayList<>();
        for (var e : tensors.entrySet()) {
            String key = e.getKey();
            LoraKeys.Parsed parsed = LoraKeys.parse(key);
            if (parsed == null) {
                unknown.add(key);
                continue;
            }
            String layer;
            String writerPath;
            if (parsed.kohya()) {
                if (!parsed.layer().startsWith(kohyaPrefix + "_")) {
                    continue;
                }
                layer = kohya.get(parsed.layer());
                writerPath = layer;
            } else {
                writerPath = stripPrefix(parsed.layer(), component, layers.keySet());
                if (writerPath == null) {
                    continue;
                }
                layer = layers.containsKey(writerPath) ? writerPath : uniqueSuffixMatch(writerPath, layers.keySet());
            }
            if (layer == null) {
                unknown.add(key);
                continue;
            }
            Tensor[] slot = parts.computeIfAbsent(layer, k -> new Tensor[3]);
            slot[parsed.role().ordinal()] = e.getValue();
            writerPaths.put(layer, writerPath);
        }
        if (!unknown.isEmpty()) {
            throw new IllegalArgumentException(path + ": " + unknown.size() + " tensor(s) match no " + component
                    + " layer of the model: " + (unknown.size() > 8 ? unknown.subList(0, 8) + " ..." : unknown));
        }
        LoraScaleRules rules = LoraScaleRules.parse(metadata.get(ADAPTER_METADATA), component, path);
        Map<String, LoraWeights> out = new LinkedHashMap<>();
        for (var e : parts.entrySet()) {
            Tensor[] t = e.getValue();
            if (t[0] == null || t[1] == null) {
                throw new IllegalArgumentException(path + ": layer " + e.getKey() + " has only the "
                        + (t[0] == null ? "up (lora_B)" : "down (lora_A)") + " matrix");
            }
            Float alpha = t[2] != null ? Float.valueOf(t[2].item())
                    : rules.alphaFor(writerPaths.get(e.getKey()), t[0].size(0));
            out.put(e.getKey(), new LoraWeights(e.getKey(), t[0], t[1], alpha));
        }
        return out;
    }

    /**
     * The one model layer whose path ends with {@code "." + layer}, or null. Files from models whose root was
     * renamed name layers by a shorter path: transformers 5 dropped CLIPTextModel's {@code text_model.} level, so
     * peft state dicts taken from it say {@code encoder.layers.0.self_attn.q_proj}.
     */
    private static String uniqueSuffixMatch(String layer, Set<String> known) {
        String found = null;
        for (String k : known) {
            if (k.endsWith("." + layer)) {
                if (found != null) {
                    return null;
                }
                found = k;
            }
        }
        return found;
    }

    /** The layer path without the component prefix; null when the key belongs to another component. */
    private static String stripPrefix(String layer, String component, Set<String> known) {
        if (layer.startsWith(component + ".")) {
            return layer.substring(component.length() + 1);
        }
        if (layer.startsWith("base_model.model.")) {
            return layer.substring("base_model.model.".length());
        }
        for (String other : COMPONENT_PREFIXES) {
            if (layer.startsWith(other) && !known.contains(layer)) {
                return null;
            }
        }
        return layer;
    }
}
