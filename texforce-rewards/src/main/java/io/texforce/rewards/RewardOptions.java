package io.texforce.rewards;

import io.texforce.tensor.Backend;
import io.texforce.tensor.cpu.CpuBackend;

import java.net.URI;
import java.nio.file.Path;
import java.util.LinkedHashMap;
import java.util.Map;

/**
 * What {@link RewardFactory} needs besides a reward's name; fields a reward does not use may be null.
 *
 * @param rewardModel   the CLIP model: a transformers folder, or an OpenAI / open_clip checkpoint file
 * @param aestheticHead the LAION aesthetic MLP ({@code .pth} or {@code .safetensors})
 * @param url           the reward service of {@code http}
 * @param weights       the terms of {@code weighted}: reward name to weight, in order
 * @param backend       where reward models (CLIP towers, aesthetic head) run; null means the CPU
 */
public record RewardOptions(Path rewardModel, Path aestheticHead, URI url, Map<String, Float> weights,
                            Backend backend) {
    public RewardOptions {
        weights = weights == null ? Map.of() : java.util.Collections.unmodifiableMap(new LinkedHashMap<>(weights));
        backend = backend == null ? CpuBackend.INSTANCE : backend;
    }

    /** Options with the reward models on the CPU. */
    public RewardOptions(Path rewardModel, Path aestheticHead, URI url, Map<String, Float> weights) {
        this(rewardModel, aestheticHead, url, weights, null);
    }

    /** No options: enough for the JPEG rewards. */
    public static RewardOptions none() {
        return new RewardOptions(null, null, null, Map.of());
    }
}
