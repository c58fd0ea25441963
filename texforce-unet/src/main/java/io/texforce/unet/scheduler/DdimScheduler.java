package io.texforce.unet.scheduler;

import io.texforce.tensor.Tensor;

import java.nio.file.Path;
import java.util.Arrays;

/**
 * diffusers' {@code DDIMScheduler} (Song et al., arXiv:2010.02502): the noise schedule, the inference timesteps and
 * the DDIM update. Stateless: the number of inference steps is passed to each call instead of
 * {@code set_timesteps}, so one instance serves several samplers and threads.
 *
 * <p>{@link #step} is built from tensor operations, so gradients flow from its outputs back to the model output;
 * the schedule coefficients are computed in float32 in diffusers' order, so results match it to rounding.
 */
public final class DdimScheduler {
    private final SchedulerConfig config;
    private final float[] alphasCumprod;
    private final float finalAlphaCumprod;

    public DdimScheduler(SchedulerConfig config) {
        this.config = config;
        this.alphasCumprod = Betas.alphasCumprod(Betas.of(config));
        this.finalAlphaCumprod = config.setAlphaToOne() ? 1f : alphasCumprod[0];
    }

    /** A scheduler for the {@code scheduler_config.json} at {@code configJson}. */
    public static DdimScheduler load(Path configJson) {
        return new DdimScheduler(SchedulerConfig.load(configJson));
    }

    public SchedulerConfig config() {
        return config;
    }

    public int numTrainTimesteps() {
        return config.numTrainTimesteps();
    }

    /** The cumulative products of (1 - beta), one per training timestep (a copy). */
    public float[] alphasCumprod() {
        return alphasCumprod.clone();
    }

    /** The alpha-bar used after the last step: 1 with {@code set_alpha_to_one}, else {@code alphas_cumprod[0]}. */
    public float finalAlphaCumprod() {
        return finalAlphaCumprod;
    }

    /** {@code alphas_cumprod[t]}, or {@link #finalAlphaCumprod()} for a negative t (the step after the last). */
    public float alphaCumprod(int t) {
        if (t >= alphasCumprod.length) {
            throw new IllegalArgumentException("timestep " + t + " is outside the " + alphasCumprod.length
                    + " training timesteps");
        }
        return t >= 0 ? alphasCumprod[t] : finalAlphaCumprod;
    }

    /** Standard deviation of the initial noise (1 for DDIM). */
    public float initNoiseSigma() {
        return 1f;
    }

    /** DDIM does not scale the model input; returns {@code sample}. */
    public Tensor scaleModelInput(Tensor sample, int timestep) {
        return sample;
    }

    /** The descending inference timesteps, as {@code set_timesteps(numInferenceSteps)} makes them. */
    public int[] timesteps(int numInferenceSteps) {
        int n = checkSteps(numInferenceSteps);
        int train = config.numTrainTimesteps();
        int[] t = new int[n];
        switch (config.timestepSpacing()) {
            case LEADING -> {
                int ratio = train / n;
                for (int i = 0; i < n; i++) {
                    t[i] = (n - 1 - i) * ratio + config.stepsOffset();
                }
            }
            case TRAILING -> {
                // np.round(np.arange(train, 0, -train / n)) - 1, where numpy's arange fills
                // a[i] = start + i * (a[1] - a[0]) and rint is numpy's half-to-even round. For some n (61, 103, ...)
                // numpy's float length rounds up to n + 1 and diffusers appends a bogus timestep -1; we keep n.
                double ratio = (double) train / n;
                double delta = (train - ratio) - train;
                for (int i = 0; i < n; i++) {
                    double value = i == 0 ? train : i == 1 ? train - ratio : train + i * delta;
                    t[i] = (int) Math.rint(value) - 1;
                }
            }
            case LINSPACE -> {
                // np.linspace(0, train - 1, n).round()[::-1]: y[i] = i * step, with the end point set exactly.
                double step = n > 1 ? (double) (train - 1) / (n - 1) : 0;
                for (int i = 0; i < n; i++) {
                    double value = i == n - 1 && n > 1 ? train - 1 : i * step;
                    t[n - 1 - i] = (int) Math.rint(value);
                }
            }
        }
        return t;
    }

    /** The timestep a step from {@code t} lands on: {@code t - num_train_timesteps / steps} (negative after the last). */
    public int prevTimestep(int timestep, int numInferenceSteps) {
        return timestep - config.numTrainTimesteps() / checkSteps(numInferenceSteps);
    }

    private int checkSteps(int numInferenceSteps) {
        if (numInferenceSteps < 1 || numInferenceSteps > config.numTrainTimesteps()) {
            throw new IllegalArgumentException("number of inference steps must be in [1, "
                    + config.numTrainTimesteps() + "], got " + numInferenceSteps);
        }
        return numInferenceSteps;
    }

    /**
     * diffusers' {@code DDIMScheduler.step(model_output, timestep, sample, eta, variance_noise=...)}.
     *
     * @param varianceNoise standard normal noise shaped like {@code sample}, scaled by sigma_t when eta > 0; null
     *                      adds no noise (then {@code prevSample} is the mean)
     */
    public StepResult step(Tensor modelOutput, int timestep, Tensor sample, float eta, Tensor varianceNoise,
                           int numInferenceSteps) {
        return step(modelOutput, new int[]{timestep}, new int[]{prevTimestep(timestep, numInferenceSteps)}, sample,
                eta, varianceNoise);
    }

    /**
     * A DDIM step from {@code timesteps[b]} to {@code prevTimesteps[b]} for each batch element b (a negative previous
     * timestep means the final alpha-bar). Arrays of length 1 apply to the whole batch; per-element timesteps serve
     * PPO, which trains on a different timestep for every sample of a batch.
     *
     * @param varianceNoise as in {@link #step(Tensor, int, Tensor, float, Tensor, int)}
     */
    public StepResult step(Tensor modelOutput, int[] timesteps, int[] prevTimesteps, Tensor sample, float eta,
                           Tensor varianceNoise) {
        int[] shape = sample.shape();
        if (!Arrays.equals(modelOutput.shape(), shape)) {
            throw new IllegalArgumentException("model output " + Arrays.toString(modelOutput.shape())
                    + " and sample " + Arrays.toString(shape) + " differ in shape");
        }
        if (varianceNoise != null && !Arrays.equals(varianceNoise.shape(), shape)) {
            throw new IllegalArgumentException("variance noise " + Arrays.toString(varianceNoise.shape())
                    + " does not match the sample " + Arrays.toString(shape));
        }
        if (!(eta >= 0)) {
            throw new IllegalArgumentException("eta must be non-negative, got " + eta);
        }
        int m = timesteps.length;
        if (shape.length == 0 || (m != 1 && m != shape[0]) || prevTimesteps.length != m) {
            throw new IllegalArgumentException(m + " timesteps and " + prevTimesteps.length
                    + " previous timesteps for a sample of shape " + Arrays.toString(shape)
                    + " (need 1 or one per batch element)");
        }
        float[] sqrtAlpha = new float[m], sqrtBeta = new float[m], sqrtAlphaPrev = new float[m];
        float[] direction = new float[m], std = new float[m];
        for (int b = 0; b < m; b++) {
            if (timesteps[b] < 0) {
                throw new IllegalArgumentException("timestep " + timesteps[b] + " is negative");
            }
            float alpha = alphaCumprod(timesteps[b]), alphaPrev = alphaCumprod(prevTimesteps[b]);
            float beta = 1f - alpha;
            sqrtAlpha[b] = sqrt(alpha);
            sqrtBeta[b] = sqrt(beta);
            sqrtAlphaPrev[b] = sqrt(alphaPrev);
            // diffusers' _get_variance: sigma_t^2 = (1 - a_prev) / (1 - a_t) * (1 - a_t / a_prev).
            float variance = ((1f - alphaPrev) / beta) * (1f - alpha / alphaPrev);
            std[b] = eta * sqrt(variance);
            direction[b] = sqrt(1f - alphaPrev - std[b] * std[b]);
        }
        Tensor a = coefficient(sample, sqrtAlpha), s = coefficient(sample, sqrtBeta);
        Tensor x0, eps;
        switch (config.predictionType()) {
            case EPSILON -> {
                x0 = sample.sub(modelOutput.mul(s)).div(a);
                eps = modelOutput;
            }
            case SAMPLE -> {
                x0 = modelOutput;
                eps = sample.sub(x0.mul(a)).div(s);
            }
            case V_PREDICTION -> {
                x0 = sample.mul(a).sub(modelOutput.mul(s));
                eps = modelOutput.mul(a).add(sample.mul(s));
            }
            default -> throw new IllegalStateException("unhandled prediction type " + config.predictionType());
        }
        if (config.clipSample()) {
            float range = (float) config.clipSampleRange();
            x0 = x0.clamp(-range, range);
        }
        Tensor sigma = coefficient(sample, std);
        Tensor mean = x0.mul(coefficient(sample, sqrtAlphaPrev)).add(eps.mul(coefficient(sample, direction)));
        Tensor prev = eta > 0 && varianceNoise != null ? mean.add(varianceNoise.mul(sigma)) : mean;
        return new StepResult(prev, x0, mean, sigma);
    }

    /** {@code sqrt(a_t) * original + sqrt(1 - a_t) * noise}, with one timestep per batch element (or one for all). */
    public Tensor addNoise(Tensor original, Tensor noise, int[] timesteps) {
        int[] shape = original.shape();
        if (!Arrays.equals(noise.shape(), shape)) {
            throw new IllegalArgumentException("noise " + Arrays.toString(noise.shape()) + " does not match "
                    + Arrays.toString(shape));
        }
        if (shape.length == 0 || (timesteps.length != 1 && timesteps.length != shape[0])) {
            throw new IllegalArgumentException(timesteps.length + " timesteps for a sample of shape "
                    + Arrays.toString(shape) + " (need 1 or one per batch element)");
        }
        float[] signal = new float[timesteps.length], noiseScale = new float[timesteps.length];
        for (int b = 0; b < timesteps.length; b++) {
            if (timesteps[b] < 0) {
                throw new IllegalArgumentException("timestep " + timesteps[b] + " is negative");
            }
            float alpha = alphaCumprod(timesteps[b]);
            signal[b] = sqrt(alpha);
            noiseScale[b] = sqrt(1f - alpha);
        }
        return original.mul(coefficient(original, signal)).add(noise.mul(coefficient(original, noiseScale)));
    }

    /** Per-batch-element values shaped [m, 1, ..., 1] to broadcast against {@code like}, on its backend. */
    private static Tensor coefficient(Tensor like, float[] values) {
        int[] shape = new int[like.dim()];
        Arrays.fill(shape, 1);
        shape[0] = values.length;
        return Tensor.of(like.backend(), values, shape);
    }

    /** Correctly rounded float square root, as torch's {@code x ** 0.5} on a float32 tensor. */
    private static float sqrt(float x) {
        return (float) Math.sqrt(x);
    }

    @Override
    public String toString() {
        return "DdimScheduler" + config;
    }
}
