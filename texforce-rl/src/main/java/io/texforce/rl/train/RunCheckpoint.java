package io.texforce.rl.train;

import com.fasterxml.jackson.core.JsonProcessingException;
import com.fasterxml.jackson.core.type.TypeReference;
import com.fasterxml.jackson.databind.ObjectMapper;
import io.texforce.tensor.Tensor;
import io.texforce.tensor.io.SafeTensors;
import io.texforce.tensor.io.SafeTensorsWriter;

import java.nio.file.Files;
import java.nio.file.Path;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;

/**
 * Everything a killed run needs to continue exactly where it stopped, in one safetensors file written atomically:
 * the LoRA tensors ({@code lora.*}), the optimizer moments ({@code optim.*}), the per-prompt reward buffers
 * ({@code tracker.N}, prompts in the metadata), and in the metadata the completed epoch, the optimizer step count,
 * the training RNG's stream offset and the run's configuration.
 */
record RunCheckpoint(int epoch, int optimizerSteps, long rngOffset, Map<String, Tensor> lora,
                     Map<String, Tensor> optimizer, Map<String, float[]> tracker, String configJson) {
    static final String FORMAT = "texforce-checkpoint-v1";
    private static final ObjectMapper JSON = new ObjectMapper();

    void write(Path file) {
        SafeTensorsWriter w = new SafeTensorsWriter();
        lora.forEach((k, t) -> w.put("lora." + k, t.detach()));
        optimizer.forEach((k, t) -> w.put("optim." + k, t.detach()));
        List<String> prompts = List.copyOf(tracker.keySet());
        for (int i = 0; i < prompts.size(); i++) {
            float[] buf = tracker.get(prompts.get(i));
            w.put("tracker." + i, Tensor.of(buf.clone(), buf.length));
        }
        try {
            w.metadata("format", FORMAT);
            w.metadata("epoch", Integer.toString(epoch));
            w.metadata("optimizer_steps", Integer.toString(optimizerSteps));
            w.metadata("rng_offset", Long.toString(rngOffset));
            w.metadata("tracker_prompts", JSON.writeValueAsString(prompts));
            w.metadata("config", configJson);
        } catch (JsonProcessingException e) {
            throw new IllegalStateException(e);
        }
        w.write(file);
    }

    static boolean exists(Path file) {
        return Files.isRegularFile(file);
    }

    static RunCheckpoint read(Path file) {
        try (SafeTensors st = SafeTensors.open(file)) {
            Map<String, String> meta = st.metadata();
            if (!FORMAT.equals(meta.get("format"))) {
                throw new IllegalArgumentException(file + " is not a TexForce checkpoint (format "
                        + meta.get("format") + ")");
            }
            Map<String, Tensor> lora = new LinkedHashMap<>(), optim = new LinkedHashMap<>();
            for (String k : st.keys()) {
                if (k.startsWith("lora.")) {
                    lora.put(k.substring(5), st.tensor(k));
                } else if (k.startsWith("optim.")) {
                    optim.put(k.substring(6), st.tensor(k));
                }
            }
            List<String> prompts = JSON.readValue(meta.get("tracker_prompts"), new TypeReference<List<String>>() {
            });
            Map<String, float[]> tracker = new LinkedHashMap<>();
            for (int i = 0; i < prompts.size(); i++) {
                tracker.put(prompts.get(i), st.floats("tracker." + i));
            }
            return new RunCheckpoint(Integer.parseInt(meta.get("epoch")), Integer.parseInt(meta.get("optimizer_steps")),
                    Long.parseLong(meta.get("rng_offset")), lora, optim, tracker, meta.get("config"));
        } catch (JsonProcessingException | NumberFormatException | NullPointerException e) {
            throw new IllegalArgumentException(file + ": damaged checkpoint metadata: " + e.getMessage(), e);
        }
    }
}
