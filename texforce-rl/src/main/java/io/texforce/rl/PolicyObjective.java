package io.texforce.rl;

import io.texforce.tensor.Tensor;
import io.texforce.unet.pipeline.StableDiffusionPipeline;

import java.util.List;

/**
 * TexForce's policy: the log-probability of a stored denoising step under the current text encoder. The prompts
 * and the negative prompt are re-encoded by the (LoRA-adapted) text encoder with autograd on, the frozen U-Net
 * runs classifier-free guidance on [negative, positive], and the DDIM Gaussian log-density of the stored next
 * latent is returned, so PPO's loss reaches the text encoder's adapters through cross-attention.
 */
public final class PolicyObjective {
    private final StableDiffusionPipeline pipeline;
    private final DdimPolicy policy;
    private final float guidanceScale;
    private final int[][] negativeIds;
    private final int clipSkip;

    public PolicyObjective(StableDiffusionPipeline pipeline, DdimPolicy policy, float guidanceScale,
                           String negativePrompt, int clipSkip) {
        this.pipeline = pipeline;
        this.policy = policy;
        this.guidanceScale = guidanceScale;
        this.negativeIds = new int[][]{pipeline.tokenizer().tokenize(negativePrompt)};
        this.clipSkip = clipSkip;
    }

    public DdimPolicy policy() {
        return policy;
    }

    public float guidanceScale() {
        return guidanceScale;
    }

    /**
     * log p(next | latents) [B] for each sample at its own timestep, differentiable with respect to every
     * trainable parameter of the text encoder (and of the U-Net, when a U-Net adapter trains too).
     *
     * @param promptIds [B][77] token ids of the prompts
     * @param latents   x_t [B, C, h, w]
     * @param timesteps t per sample
     * @param next      the stored x_{t-1} [B, C, h, w]
     */
    public Tensor logProb(int[][] promptIds, Tensor latents, int[] timesteps, Tensor next) {
        Tensor cond = pipeline.textEncoder().forward(promptIds, clipSkip);
        Tensor uncond = guidanceScale > 1f ? pipeline.textEncoder().forward(negativeIds, clipSkip) : null;
        float[] t = new float[timesteps.length];
        for (int i = 0; i < t.length; i++) {
            t[i] = timesteps[i];
        }
        Tensor eps = pipeline.predictNoise(latents, t, cond, uncond, guidanceScale);
        return policy.logProb(eps, timesteps, latents, next);
    }

    /** Text embeddings of prompts under the current encoder (for sampling, where no gradient is needed). */
    public Tensor encode(List<String> prompts) {
        return pipeline.encodePrompts(prompts, clipSkip);
    }
}
