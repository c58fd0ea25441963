package io.texforce.unet.pipeline;

import io.texforce.tensor.Tensor;

import java.util.List;

/**
 * What to generate. One image per prompt; {@code seeds} gives each image its own seed (or one seed for all,
 * offset by the image index). {@code latents}, when given, replaces the seeded initial noise.
 *
 * @param prompts        the prompts, one image each
 * @param negativePrompt the negative prompt for classifier-free guidance ("" as diffusers' default)
 * @param steps          DDIM steps
 * @param guidanceScale  CFG scale; at 1 or below the unconditional pass is skipped, as in diffusers
 * @param eta            DDIM eta (0: deterministic)
 * @param seeds          one seed per image, or a single seed
 * @param latents        initial latents [B, 4, h, w], or null
 * @param height         image height in pixels (a multiple of the VAE factor), or 0 for the model default
 * @param width          image width in pixels, or 0 for the model default
 * @param clipSkip       layers of the text encoder to skip (diffusers' clip_skip)
 */
public record GenerationRequest(List<String> prompts, String negativePrompt, int steps, float guidanceScale, float eta,
                                long[] seeds, Tensor latents, int height, int width, int clipSkip) {

    public GenerationRequest {
        if (prompts.isEmpty()) {
            throw new IllegalArgumentException("no prompts to generate");
        }
        if (steps < 1) {
            throw new IllegalArgumentException("steps must be at least 1, got " + steps);
        }
        if (seeds.length != 1 && seeds.length != prompts.size()) {
            throw new IllegalArgumentException(seeds.length + " seeds for " + prompts.size() + " prompts");
        }
        prompts = List.copyOf(prompts);
    }

    /** The defaults of diffusers' StableDiffusionPipeline: 50 steps, guidance 7.5, eta 0, empty negative prompt. */
    public static GenerationRequest of(List<String> prompts, long seed) {
        return new GenerationRequest(prompts, "", 50, 7.5f, 0f, new long[]{seed}, null, 0, 0, 0);
    }

    public GenerationRequest withSteps(int s) {
        return new GenerationRequest(prompts, negativePrompt, s, guidanceScale, eta, seeds, latents, height, width, clipSkip);
    }

    public GenerationRequest withGuidance(float g) {
        return new GenerationRequest(prompts, negativePrompt, steps, g, eta, seeds, latents, height, width, clipSkip);
    }

    public GenerationRequest withEta(float e) {
        return new GenerationRequest(prompts, negativePrompt, steps, guidanceScale, e, seeds, latents, height, width, clipSkip);
    }

    public GenerationRequest withNegativePrompt(String n) {
        return new GenerationRequest(prompts, n, steps, guidanceScale, eta, seeds, latents, height, width, clipSkip);
    }

    public GenerationRequest withLatents(Tensor l) {
        return new GenerationRequest(prompts, negativePrompt, steps, guidanceScale, eta, seeds, l, height, width, clipSkip);
    }

    public GenerationRequest withSize(int h, int w) {
        return new GenerationRequest(prompts, negativePrompt, steps, guidanceScale, eta, seeds, latents, h, w, clipSkip);
    }

    public long seed(int image) {
        return seeds.length == 1 ? seeds[0] + image : seeds[image];
    }
}
