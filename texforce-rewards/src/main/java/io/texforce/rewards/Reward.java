package io.texforce.rewards;

import io.texforce.tensor.Tensor;

import java.util.List;

/**
 * A reward for generated images: any function of the images and their prompts, differentiable or not (PPO only
 * needs the numbers). Implementations should be safe to call from a background thread; the trainer may score one
 * batch while it samples the next.
 */
public interface Reward extends AutoCloseable {
    /** A short name for logs and metrics, e.g. {@code jpeg-compressibility}. */
    String name();

    /**
     * Scores a batch.
     *
     * @param images  [B, 3, H, W], RGB in [0, 1]
     * @param prompts the B prompts the images were generated from
     * @return B scores; a NaN marks an image the reward could not score (the trainer drops that sample)
     */
    float[] score(Tensor images, List<String> prompts);

    /** Releases models or connections the reward holds. */
    @Override
    default void close() {
    }
}
