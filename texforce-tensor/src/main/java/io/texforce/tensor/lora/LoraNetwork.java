package io.texforce.tensor.lora;

import com.fasterxml.jackson.databind.ObjectMapper;
import com.fasterxml.jackson.databind.node.ObjectNode;
import io.texforce.tensor.Backend;
import io.texforce.tensor.Tensor;
import io.texforce.tensor.io.SafeTensorsWriter;
import io.texforce.tensor.nn.LoraAdapter;
import io.texforce.tensor.nn.LoraLayer;
import io.texforce.tensor.nn.Module;
import io.texforce.tensor.random.Philox;

import java.nio.file.Path;
import java.util.ArrayList;
import java.util.Collections;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;

/**
 * One named adapter spread over the layers of a model component: attach it from a file or create it trainable,
 * change its blend weight, switch it on and off, merge it into the base weights, save it in the peft/diffusers
 * layout. Several networks may be attached to one model at once; their deltas add: W + sum_i w_i (a_i/r_i) B_i A_i.
 */
public final class LoraNetwork {
    private final String name;
    private final String component;
    private final Map<String, LoraAdapter> adapters;
    private final Map<String, LoraLayer> layers;

    private LoraNetwork(String name, String component, Map<String, LoraAdapter> adapters, Map<String, LoraLayer> layers) {
        this.name = name;
        this.component = component;
        this.adapters = adapters;
        this.layers = layers;
    }

    private static Map<String, LoraLayer> loraLayers(Module root) {
        Map<String, LoraLayer> layers = new LinkedHashMap<>();
        root.namedModules().forEach((p, m) -> {
            if (m instanceof LoraLayer l) {
                layers.put(p, l);
            }
        });
        return layers;
    }

    /** Attaches stored weights (see {@link LoraFile#resolve}) under {@code name} with blend weight {@code weight}. */
    public static LoraNetwork attach(Module root, String component, String name, Map<String, LoraWeights> weights,
                                     float weight) {
        Map<String, LoraLayer> layers = loraLayers(root);
        Map<String, LoraAdapter> adapters = new LinkedHashMap<>();
        for (LoraWeights w : weights.values()) {
            LoraLayer layer = layers.get(w.modulePath());
            if (layer == null) {
                throw new IllegalArgumentException("LoRA '" + name + "': no adaptable layer " + w.modulePath());
            }
            // Files are read to the CPU; the adapter joins its layer's backend.
            Backend be = layer.lora().backend();
            LoraAdapter a = new LoraAdapter(name, w.down().to(be), w.up().to(be), w.alphaOrRank(), weight);
            layer.lora().add(a, w.modulePath());
            adapters.put(w.modulePath(), a);
        }
        return new LoraNetwork(name, component, adapters, layers);
    }

    /** Reads {@code file} and attaches its {@code component} adapters; see {@link LoraFile}. */
    public static LoraNetwork load(Module root, Path file, String component, String kohyaPrefix, String name,
                                   float weight) {
        Map<String, LoraWeights> w = LoraFile.read(file).resolve(root, component, kohyaPrefix);
        if (w.isEmpty()) {
            throw new IllegalArgumentException(file + " holds no " + component + " LoRA tensors");
        }
        return attach(root, component, name, w, weight);
    }

    /**
     * A new trainable adapter on every layer that {@code config} targets: down ~ N(0, 1/rank) (peft's "gaussian"
     * init), up = 0, so the model starts exactly at its base weights. Random numbers come from Philox with
     * {@code seed}, in layer order.
     */
    public static LoraNetwork create(Module root, String component, String name, LoraConfig config, long seed) {
        Map<String, LoraLayer> layers = loraLayers(root);
        Map<String, LoraAdapter> adapters = new LinkedHashMap<>();
        long offset = 0;
        for (var e : layers.entrySet()) {
            if (!config.matches(e.getKey())) {
                continue;
            }
            int[] w = weightShape(e.getValue());
            int[] downShape = w.length == 4 ? new int[]{config.rank(), w[1], w[2], w[3]} : new int[]{config.rank(), w[1]};
            int[] upShape = w.length == 4 ? new int[]{w[0], config.rank(), 1, 1} : new int[]{w[0], config.rank()};
            float[] d = new float[io.texforce.tensor.Shape.numel(downShape)];
            Philox.normal(seed, offset, d, 0, d.length);
            offset += (d.length + 3) / 4;
            float std = 1f / config.rank();
            for (int i = 0; i < d.length; i++) {
                d[i] *= std;
            }
            Backend be = e.getValue().lora().backend();
            Tensor down = Tensor.of(be, d, downShape).requiresGrad(true);
            Tensor up = be.full(upShape, 0f).requiresGrad(true);
            LoraAdapter a = new LoraAdapter(name, down, up, config.alpha(), 1f);
            e.getValue().lora().add(a, e.getKey());
            adapters.put(e.getKey(), a);
        }
        if (adapters.isEmpty()) {
            throw new IllegalArgumentException("LoRA targets " + config.targets() + " match no layer of the model");
        }
        return new LoraNetwork(name, component, adapters, layers);
    }

    private static int[] weightShape(LoraLayer layer) {
        if (layer instanceof io.texforce.tensor.nn.Linear l) {
            return l.weight().shape();
        }
        return ((io.texforce.tensor.nn.Conv2d) layer).weight().shape();
    }

    public String name() {
        return name;
    }

    /** Adapters by layer path. */
    public Map<String, LoraAdapter> adapters() {
        return Collections.unmodifiableMap(adapters);
    }

    /** The trainable tensors by their peft/diffusers key ({@code <component>.<layer>.lora_A.weight}). */
    public Map<String, Tensor> parameters() {
        Map<String, Tensor> out = new LinkedHashMap<>();
        adapters.forEach((path, a) -> {
            out.put(component + "." + path + ".lora_A.weight", a.down());
            out.put(component + "." + path + ".lora_B.weight", a.up());
        });
        return out;
    }

    public void setWeight(float weight) {
        adapters.values().forEach(a -> a.setWeight(weight));
    }

    public void setEnabled(boolean enabled) {
        adapters.values().forEach(a -> a.setEnabled(enabled));
    }

    /** Folds every adapter into its layer's weight (faster inference; unmerge restores). */
    public void merge() {
        adapters.forEach((p, a) -> layers.get(p).lora().merge(name));
    }

    public void unmerge() {
        adapters.forEach((p, a) -> layers.get(p).lora().unmerge(name));
    }

    /** Removes the adapters from the model (unmerging first if merged). */
    public void detach() {
        adapters.forEach((p, a) -> layers.get(p).lora().remove(name));
    }

    /**
     * Writes the adapter atomically in the peft/diffusers layout that {@code load_lora_weights} reads, with the peft
     * config diffusers builds the adapter from in {@code __metadata__["lora_adapter_metadata"]}: r and lora_alpha
     * (the most common ones), rank_pattern / alpha_pattern for layers that differ, and target_modules naming
     * exactly the adapted layers (see {@link #peftTargets}).
     */
    public void save(Path file) {
        SafeTensorsWriter w = new SafeTensorsWriter();
        parameters().forEach((k, t) -> w.put(k, t.detach()));
        int rank = mostCommon(adapters.values().stream().map(LoraAdapter::rank).toList());
        float alpha = mostCommon(adapters.values().stream().map(LoraAdapter::alpha).toList());
        Map<String, Integer> rankPattern = new LinkedHashMap<>();
        Map<String, Float> alphaPattern = new LinkedHashMap<>();
        adapters.forEach((p, a) -> {
            if (a.rank() != rank) {
                rankPattern.put(patternKey(p, q -> adapters.get(q).rank() != a.rank()), a.rank());
            }
            if (a.alpha() != alpha) {
                alphaPattern.put(patternKey(p, q -> adapters.get(q).alpha() != a.alpha()), a.alpha());
            }
        });
        ObjectMapper json = new ObjectMapper();
        ObjectNode meta = json.createObjectNode();
        meta.put(component + ".r", rank);
        meta.put(component + ".lora_alpha", alpha);
        meta.set(component + ".rank_pattern", json.valueToTree(rankPattern));
        meta.set(component + ".alpha_pattern", json.valueToTree(alphaPattern));
        meta.set(component + ".target_modules", json.valueToTree(peftTargets()));
        meta.put(component + ".init_lora_weights", "gaussian");
        w.metadata("lora_adapter_metadata", meta.toString());
        w.metadata("format", "pt");
        w.write(file);
    }

    /**
     * peft target names that select every adapted layer and no other adaptable one: for each layer the shortest
     * path suffix no unadapted layer shares ({@code to_q}; {@code attn2.to_k} when attn1.to_k is not adapted).
     * Loaders that inject by target name would otherwise add (zero) adapters to the unadapted namesakes.
     */
    List<String> peftTargets() {
        List<String> unadapted = layers.keySet().stream().filter(p -> !adapters.containsKey(p)).toList();
        List<String> targets = new ArrayList<>();
        for (String p : adapters.keySet()) {
            String t = PeftNames.shortestUniqueSuffix(p, unadapted);
            if (!targets.contains(t)) {
                targets.add(t);
            }
        }
        return targets;
    }

    /** A peft pattern key for layer {@code path} that selects no adapted layer for which {@code differs} holds. */
    private String patternKey(String path, java.util.function.Predicate<String> differs) {
        List<String> others = adapters.keySet().stream().filter(q -> !q.equals(path) && differs.test(q)).toList();
        // peft treats pattern keys as regular expressions: dots in module paths must be literal.
        return PeftNames.shortestUniqueSuffix(path, others).replace(".", "\\.");
    }

    private static <T> T mostCommon(List<T> values) {
        Map<T, Integer> counts = new LinkedHashMap<>();
        values.forEach(v -> counts.merge(v, 1, Integer::sum));
        return Collections.max(counts.entrySet(), Map.Entry.comparingByValue()).getKey();
    }
}
