package io.texforce.rl;

import io.texforce.tensor.Tensor;

import java.util.Arrays;
import java.util.Objects;

/**
 * One sampled image's denoising trajectory: its prompt, the latents the sampler visited, the policy's
 * log-probability of each step and the image's reward. Arrays are copied in and out.
 *
 * @param promptIds      the prompt's token ids as fed to the text encoder
 * @param negativePrompt the classifier-free-guidance negative prompt ("" for none)
 * @param latents        [steps + 1, C, H, W]: the initial noise, then the latent after each step
 * @param timesteps      the timestep of each step, [steps]
 * @param logProbs       log p(latents[i + 1] | latents[i]) at sampling time, [steps]
 */
public record Trajectory(String prompt, int[] promptIds, String negativePrompt, Tensor latents, int[] timesteps,
                         float[] logProbs, float reward) {

    public Trajectory {
        Objects.requireNonNull(prompt, "prompt");
        Objects.requireNonNull(negativePrompt, "negativePrompt");
        int steps = timesteps.length;
        if (steps == 0 || latents.dim() < 2 || latents.size(0) != steps + 1 || logProbs.length != steps) {
            throw new IllegalArgumentException("trajectory of '" + prompt + "' has latents "
                    + Arrays.toString(latents.shape()) + ", " + steps + " timesteps and " + logProbs.length
                    + " log-probabilities; expected [steps + 1, ...] latents and as many timesteps as log-probabilities");
        }
        promptIds = promptIds.clone();
        timesteps = timesteps.clone();
        logProbs = logProbs.clone();
    }

    public int steps() {
        return timesteps.length;
    }

    /** The latent before step {@code i} (a view of {@link #latents()} without its leading dimension). */
    public Tensor latentAt(int i) {
        return latents.select(0, i);
    }

    @Override
    public int[] promptIds() {
        return promptIds.clone();
    }

    @Override
    public int[] timesteps() {
        return timesteps.clone();
    }

    @Override
    public float[] logProbs() {
        return logProbs.clone();
    }
}
