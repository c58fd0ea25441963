package io.texforce.unet.scheduler;

import io.texforce.tensor.Tensor;

/**
 * One DDIM step x_t -> x_{t-1}. {@code prevSample = mean + std * noise}; the mean and
 * {@code predOriginalSample} are differentiable functions of the model output, {@code std} is a constant.
 *
 * @param prevSample         x_{t-1}, shaped like the sample
 * @param predOriginalSample the predicted x_0 (after clipping when the config clips)
 * @param mean               x_{t-1} without noise: {@code sqrt(alpha_prev) * x_0 + direction}
 * @param std                sigma_t = eta * sqrt(variance), shaped [B, 1, ...] or [1, 1, ...] to broadcast
 *                           against the sample (one value per batch element, or one for all)
 */
public record StepResult(Tensor prevSample, Tensor predOriginalSample, Tensor mean, Tensor std) {
}
