package io.texforce.rl;

import io.texforce.tensor.Tensor;
import io.texforce.unet.scheduler.DdimScheduler;
import io.texforce.unet.scheduler.StepResult;

/**
 * The stochastic DDIM sampler (eta > 0) as a Gaussian policy over the next latent, as DDPO's
 * {@code ddim_step_with_logprob}: x_{t-1} ~ N(mean(model output), sigma_t^2), and each step's log-probability is the
 * per-element Gaussian log-density averaged over all but the batch dimension.
 *
 * <p>One deliberate difference from diffusers' sampler, kept for parity with DDPO: the previous timestep is clamped at
 * 0, so the last step lands on {@code alphas_cumprod[0]} even when the config sets {@code set_alpha_to_one}.
 */
public final class DdimPolicy {
    /** log(sqrt(2 pi)) rounded as DDPO computes it, in float32 from float32 pi. */
    private static final float LOG_SQRT_2PI = (float) Math.log((float) Math.sqrt(2f * (float) Math.PI));

    private final DdimScheduler scheduler;
    private final int numInferenceSteps;
    private final float eta;

    /** A policy sampling {@code numInferenceSteps} DDIM steps with noise scale {@code eta} (which must be positive). */
    public DdimPolicy(DdimScheduler scheduler, int numInferenceSteps, float eta) {
        if (!(eta > 0)) {
            throw new IllegalArgumentException("the DDIM policy needs eta > 0 to have a density, got eta = " + eta);
        }
        scheduler.timesteps(numInferenceSteps); // validates the step count
        this.scheduler = scheduler;
        this.numInferenceSteps = numInferenceSteps;
        this.eta = eta;
    }

    public DdimScheduler scheduler() {
        return scheduler;
    }

    public int numInferenceSteps() {
        return numInferenceSteps;
    }

    public float eta() {
        return eta;
    }

    /** The sampling timesteps, descending. */
    public int[] timesteps() {
        return scheduler.timesteps(numInferenceSteps);
    }

    /** DDPO's previous timestep: {@code max(t - num_train_timesteps / steps, 0)}. */
    public int prevTimestep(int timestep) {
        return Math.max(scheduler.prevTimestep(timestep, numInferenceSteps), 0);
    }

    /** A sampled next latent and its log-probability [B]. */
    public record Transition(Tensor prevSample, Tensor logProb) {
    }

    /**
     * Samples x_{t-1} = mean + sigma_t * noise and returns it with its log-probability.
     *
     * @param timesteps one timestep for the whole batch, or one per batch element
     * @param noise     standard normal noise shaped like {@code sample}
     */
    public Transition sample(Tensor modelOutput, int[] timesteps, Tensor sample, Tensor noise) {
        if (noise == null) {
            throw new IllegalArgumentException("sampling the DDIM policy needs noise shaped like the sample");
        }
        StepResult r = step(modelOutput, timesteps, sample, noise);
        Tensor prev = r.prevSample().detach();
        return new Transition(prev, gaussianLogProb(prev, r.mean(), r.std()));
    }

    /**
     * The log-probability [B] of the given {@code prevSample} under the policy at {@code sample}: PPO's new
     * log-probability, differentiable with respect to {@code modelOutput}.
     *
     * @param timesteps one timestep for the whole batch, or one per batch element
     */
    public Tensor logProb(Tensor modelOutput, int[] timesteps, Tensor sample, Tensor prevSample) {
        StepResult r = step(modelOutput, timesteps, sample, null);
        return gaussianLogProb(prevSample, r.mean(), r.std());
    }

    private StepResult step(Tensor modelOutput, int[] timesteps, Tensor sample, Tensor noise) {
        int[] prev = new int[timesteps.length];
        for (int i = 0; i < prev.length; i++) {
            prev[i] = prevTimestep(timesteps[i]);
        }
        StepResult r = scheduler.step(modelOutput, timesteps, prev, sample, eta, noise);
        float[] std = r.std().toFloatArray();
        for (int i = 0; i < std.length; i++) {
            if (!(std[i] > 0)) {
                throw new IllegalArgumentException("the DDIM step from timestep " + timesteps[i] + " to " + prev[i]
                        + " has sigma " + std[i] + ", so no log-probability (a schedule without steps_offset ends"
                        + " at t = 0)");
            }
        }
        return r;
    }

    /**
     * Mean over all dimensions but the first of the elementwise log N(x; mean, std^2), computed as
     * {@code -(x - mean)^2 / (2 std^2) - log(std) - log(sqrt(2 pi))}. {@code x} is treated as data (detached), as in
     * DDPO; gradients flow to {@code mean} and {@code std}. {@code std} broadcasts against {@code x}.
     */
    public static Tensor gaussianLogProb(Tensor x, Tensor mean, Tensor std) {
        if (x.dim() < 2) {
            throw new IllegalArgumentException("log-probability of a tensor of rank " + x.dim()
                    + "; expected a batch [B, ...] of rank >= 2");
        }
        Tensor perElement = x.detach().sub(mean).square().neg().div(std.square().mul(2f))
                .sub(std.log()).sub(LOG_SQRT_2PI);
        int[] dims = new int[x.dim() - 1];
        for (int i = 0; i < dims.length; i++) {
            dims[i] = i + 1;
        }
        return perElement.mean(dims, false);
    }
}
