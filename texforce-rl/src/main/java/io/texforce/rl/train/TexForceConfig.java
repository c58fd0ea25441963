package io.texforce.rl.train;

import java.util.List;

/**
 * Every hyperparameter of a TexForce run. {@link #defaults()} are the paper's code: text-encoder LoRA rank 16 /
 * alpha 16 on q/k/v/out_proj; AdamW lr 3e-4, betas (0.9, 0.999), weight decay 1e-4, eps 1e-8; 3% linear warm-up
 * then cosine decay; max grad norm 1; 50 DDIM steps, eta 1, guidance 5, empty negative prompt; half of each
 * trajectory's timesteps trained; 1 inner epoch; clip range 1e-4; advantages clipped at 5; per-prompt statistics
 * (buffer 16, min count 16).
 *
 * <p>{@code gradientCheckpointing} (off by default) re-runs U-Net and text-encoder layers during backward instead
 * of keeping their activations: less memory for about one extra forward pass per trained step. It changes no
 * number, so a run may be resumed with it switched either way.
 */
public record TexForceConfig(
        TrainingMode mode,
        int epochs, int samplesPerEpoch, int sampleBatchSize, int trainBatchSize, int gradientAccumulation,
        int steps, float eta, float guidanceScale, String negativePrompt, int clipSkip, int height, int width,
        int loraRank, float loraAlpha, List<String> loraTargets,
        int unetLoraRank, float unetLoraAlpha, List<String> unetLoraTargets,
        float learningRate, float beta1, float beta2, float weightDecay, float adamEps, float warmupFraction,
        float maxGradNorm, float timestepFraction, int innerEpochs, float clipRange, float advClipMax,
        boolean perPromptStatTracking, int statBufferSize, int statMinCount,
        long seed, int evalImages, boolean gradientCheckpointing) {

    public TexForceConfig {
        require(epochs > 0, "epochs must be positive");
        require(samplesPerEpoch > 0 && sampleBatchSize > 0 && samplesPerEpoch % sampleBatchSize == 0,
                "samples per epoch (" + samplesPerEpoch + ") must be a positive multiple of the sample batch size ("
                        + sampleBatchSize + ")");
        require(trainBatchSize > 0 && samplesPerEpoch % trainBatchSize == 0,
                "samples per epoch (" + samplesPerEpoch + ") must be a multiple of the train batch size (" + trainBatchSize + ")");
        require(gradientAccumulation > 0, "gradient accumulation must be positive");
        require(steps > 0, "steps must be positive");
        require(eta > 0, "eta must be positive: the DDIM policy needs noise (eta = " + eta + ")");
        require(timestepFraction > 0 && timestepFraction <= 1, "timestep fraction must be in (0, 1]");
        require(loraRank > 0 && unetLoraRank > 0, "LoRA ranks must be positive");
        require(innerEpochs > 0, "inner epochs must be positive");
        loraTargets = List.copyOf(loraTargets);
        unetLoraTargets = List.copyOf(unetLoraTargets);
    }

    private static void require(boolean ok, String message) {
        if (!ok) {
            throw new IllegalArgumentException(message);
        }
    }

    public static TexForceConfig defaults() {
        return new TexForceConfig(TrainingMode.TEXT_ENCODER,
                100, 256, 8, 8, 4,
                50, 1f, 5f, "", 0, 0, 0,
                16, 16f, List.of("q_proj", "k_proj", "v_proj", "out_proj"),
                4, 4f, List.of("to_q", "to_k", "to_v", "to_out.0"),
                3e-4f, 0.9f, 0.999f, 1e-4f, 1e-8f, 0.03f,
                1f, 0.5f, 1, 1e-4f, 5f,
                true, 16, 16,
                0L, 4, false);
    }

    /** Steps of each trajectory trained per inner epoch: DDPO's {@code int(steps * timestep_fraction)}. */
    public int trainedSteps() {
        return Math.max(1, (int) (steps * timestepFraction));
    }

    /** Optimizer updates per epoch. */
    public int updatesPerEpoch() {
        int batches = samplesPerEpoch / trainBatchSize;
        return innerEpochs * Math.max(1, batches / gradientAccumulation);
    }
}
