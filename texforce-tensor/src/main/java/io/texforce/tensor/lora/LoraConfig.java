package io.texforce.tensor.lora;

import java.util.List;

/**
 * A trainable adapter's shape: rank, alpha (scale = alpha / rank) and the layer names it targets; a target
 * matches a layer whose path ends with {@code "." + target} (peft's rule), e.g. {@code q_proj} or {@code attn2.to_k}.
 */
public record LoraConfig(int rank, float alpha, List<String> targets) {
    public LoraConfig {
        if (rank <= 0) {
            throw new IllegalArgumentException("LoRA rank must be positive, got " + rank);
        }
        if (targets.isEmpty()) {
            throw new IllegalArgumentException("LoRA needs at least one target module name");
        }
        targets = List.copyOf(targets);
    }

    /** The TexForce paper's text-encoder setting: rank 16, alpha 16 on q/k/v/out_proj. */
    public static LoraConfig textEncoderDefault() {
        return new LoraConfig(16, 16f, List.of("q_proj", "k_proj", "v_proj", "out_proj"));
    }

    public boolean matches(String modulePath) {
        for (String t : targets) {
            if (modulePath.equals(t) || modulePath.endsWith("." + t)) {
                return true;
            }
        }
        return false;
    }
}
