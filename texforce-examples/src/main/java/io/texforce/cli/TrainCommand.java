package io.texforce.cli;

import io.texforce.rewards.Reward;
import io.texforce.rl.prompts.PromptSource;
import io.texforce.rl.train.TexForceTrainer;
import io.texforce.rl.train.TrainingMode;
import io.texforce.rl.train.TrainingSummary;
import io.texforce.tensor.Backend;
import picocli.CommandLine.Command;
import picocli.CommandLine.Mixin;
import picocli.CommandLine.Option;

import java.nio.file.Path;
import java.util.List;

/** {@code texforce train}: TexForce PPO on a text-encoder (or U-Net, or joint) LoRA. */
@Command(name = "train", mixinStandardHelpOptions = true, sortOptions = false,
        description = "Train a LoRA with PPO for a reward (defaults: the TexForce paper's settings). RUN_DIR gets "
                + "metrics.jsonl, sample grids, checkpoints and the latest LoRA at RUN_DIR/lora.safetensors.")
final class TrainCommand implements Runnable {
    @Option(names = "--model", required = true, description = "Diffusers pipeline folder.")
    Path model;

    @Mixin
    WeightOptions dtype;

    @Mixin
    RewardArgs rewardOptions;

    @Option(names = "--prompts", defaultValue = "animals",
            description = "animals, phrases, text:PROMPT, file:PATH, json:PATH[#KEY]. Default: ${DEFAULT-VALUE}.")
    String prompts;

    @Option(names = "--out", required = true, paramLabel = "RUN_DIR", description = "Run directory.")
    Path out;

    @Option(names = "--resume", description = "Continue the run in RUN_DIR from its last checkpoint.")
    boolean resume;

    @Option(names = "--mode", defaultValue = "TEXT_ENCODER",
            description = "TEXT_ENCODER (TexForce), UNET (DDPO) or JOINT. Default: ${DEFAULT-VALUE}.")
    TrainingMode mode;

    @Option(names = "--epochs", defaultValue = "100", description = "Default: ${DEFAULT-VALUE}.")
    int epochs;

    @Option(names = "--samples-per-epoch", defaultValue = "256", description = "Default: ${DEFAULT-VALUE}.")
    int samplesPerEpoch;

    @Option(names = "--batch-size", defaultValue = "8", description = "Sampling and training batch size. Default: ${DEFAULT-VALUE}.")
    int batchSize;

    @Option(names = "--train-batch-size", description = "Training batch size, if different from --batch-size.")
    Integer trainBatchSize;

    @Option(names = "--gradient-accumulation", defaultValue = "4", description = "Default: ${DEFAULT-VALUE}.")
    int gradientAccumulation;

    @Option(names = "--steps", defaultValue = "50", description = "DDIM steps. Default: ${DEFAULT-VALUE}.")
    int steps;

    @Option(names = "--eta", defaultValue = "1.0", description = "Default: ${DEFAULT-VALUE}.")
    float eta;

    @Option(names = "--guidance", defaultValue = "5.0", description = "Default: ${DEFAULT-VALUE}.")
    float guidance;

    @Option(names = "--negative", defaultValue = "", description = "Negative prompt. Default: empty.")
    String negative;

    @Option(names = "--lr", defaultValue = "3e-4", description = "Default: ${DEFAULT-VALUE}.")
    float lr;

    @Option(names = "--weight-decay", defaultValue = "1e-4", description = "Default: ${DEFAULT-VALUE}.")
    float weightDecay;

    @Option(names = "--adam-beta1", defaultValue = "0.9", description = "Default: ${DEFAULT-VALUE}.")
    float beta1;

    @Option(names = "--adam-beta2", defaultValue = "0.999", description = "Default: ${DEFAULT-VALUE}.")
    float beta2;

    @Option(names = "--adam-eps", defaultValue = "1e-8", description = "Default: ${DEFAULT-VALUE}.")
    float adamEps;

    @Option(names = "--height", defaultValue = "0", description = "Image height in pixels (default: the model's).")
    int height;

    @Option(names = "--width", defaultValue = "0", description = "Image width in pixels (default: the model's).")
    int width;

    @Option(names = "--clip-skip", defaultValue = "0", description = "Text-encoder layers to skip. Default: 0.")
    int clipSkip;

    @Option(names = "--warmup-fraction", defaultValue = "0.03", description = "Default: ${DEFAULT-VALUE}.")
    float warmupFraction;

    @Option(names = "--max-grad-norm", defaultValue = "1.0", description = "Default: ${DEFAULT-VALUE}.")
    float maxGradNorm;

    @Option(names = "--lora-rank", defaultValue = "16", description = "Default: ${DEFAULT-VALUE}.")
    int loraRank;

    @Option(names = "--lora-alpha", defaultValue = "16", description = "Default: ${DEFAULT-VALUE}.")
    float loraAlpha;

    @Option(names = "--lora-targets", split = ",", defaultValue = "q_proj,k_proj,v_proj,out_proj",
            description = "Text-encoder layers to adapt. Default: ${DEFAULT-VALUE}.")
    List<String> loraTargets;

    @Option(names = "--unet-lora-rank", defaultValue = "4", description = "Default: ${DEFAULT-VALUE}.")
    int unetLoraRank;

    @Option(names = "--unet-lora-alpha", defaultValue = "4", description = "Default: ${DEFAULT-VALUE}.")
    float unetLoraAlpha;

    @Option(names = "--unet-lora-targets", split = ",", defaultValue = "to_q,to_k,to_v,to_out.0",
            description = "Default: ${DEFAULT-VALUE}.")
    List<String> unetLoraTargets;

    @Option(names = "--timestep-fraction", defaultValue = "0.5", description = "Default: ${DEFAULT-VALUE}.")
    float timestepFraction;

    @Option(names = "--inner-epochs", defaultValue = "1", description = "Default: ${DEFAULT-VALUE}.")
    int innerEpochs;

    @Option(names = "--clip-range", defaultValue = "1e-4", description = "Default: ${DEFAULT-VALUE}.")
    float clipRange;

    @Option(names = "--adv-clip-max", defaultValue = "5", description = "Default: ${DEFAULT-VALUE}.")
    float advClipMax;

    @Option(names = "--no-per-prompt-stats", description = "Normalise rewards over the whole batch instead.")
    boolean noPerPromptStats;

    @Option(names = "--stat-buffer", defaultValue = "16", description = "Default: ${DEFAULT-VALUE}.")
    int statBuffer;

    @Option(names = "--stat-min-count", defaultValue = "16", description = "Default: ${DEFAULT-VALUE}.")
    int statMinCount;

    @Option(names = "--eval-images", defaultValue = "4", description = "Fixed-seed images per epoch grid. Default: ${DEFAULT-VALUE}.")
    int evalImages;

    @Option(names = "--seed", defaultValue = "0", description = "Default: ${DEFAULT-VALUE}.")
    long seed;

    @Option(names = "--gradient-checkpointing",
            description = "Re-run U-Net and text-encoder layers during backward instead of keeping their activations:"
                    + " much less memory, about one extra forward per trained step, identical results.")
    boolean gradientCheckpointing;

    @Option(names = "--no-progress", description = "No progress bar.")
    boolean noProgress;

    @Mixin
    DeviceOption device;

    @Override
    public void run() {
        Backend backend = dtype.activationsOn(device.backend());
        try (Reward reward = rewardOptions.create(backend)) {
            TrainingSummary s = TexForceTrainer.builder()
                    .model(model).device(backend).weightDtype(dtype.value).variant(dtype.variant).reward(reward)
                    .prompts(PromptSource.parse(prompts)).outputDir(out).resume(resume)
                    .mode(mode).epochs(epochs).samplesPerEpoch(samplesPerEpoch).sampleBatchSize(batchSize)
                    .trainBatchSize(trainBatchSize == null ? batchSize : trainBatchSize)
                    .gradientAccumulation(gradientAccumulation).steps(steps).eta(eta).guidanceScale(guidance)
                    .negativePrompt(negative).learningRate(lr).adam(beta1, beta2, weightDecay, adamEps)
                    .resolution(height, width).clipSkip(clipSkip)
                    .warmupFraction(warmupFraction).maxGradNorm(maxGradNorm)
                    .lora(loraRank, loraAlpha, loraTargets).unetLora(unetLoraRank, unetLoraAlpha, unetLoraTargets)
                    .timestepFraction(timestepFraction).innerEpochs(innerEpochs).clipRange(clipRange)
                    .advClipMax(advClipMax).perPromptStatTracking(!noPerPromptStats, statBuffer, statMinCount)
                    .evalImages(evalImages).seed(seed).gradientCheckpointing(gradientCheckpointing)
                    .progressBar(!noProgress)
                    .build().train();
            System.out.printf("eval reward before %.4f, after %.4f (%s)%n", s.evalRewardBefore(), s.evalRewardAfter(),
                    out.resolve("metrics.jsonl"));
        }
    }
}
