package io.texforce.unet.pipeline;

import io.texforce.tensor.Tensor;

/**
 * The output of a generation: the final latents [B, 4, h, w] (as the U-Net sees them) and the decoded images
 * [B, 3, H, W] in [0, 1].
 */
public record GenerationResult(Tensor latents, Tensor images) {
}
