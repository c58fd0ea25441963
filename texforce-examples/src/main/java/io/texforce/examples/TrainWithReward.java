package io.texforce.examples;

import io.texforce.rewards.JpegSize;
import io.texforce.rl.prompts.PromptSource;
import io.texforce.rl.train.TexForceTrainer;
import io.texforce.rl.train.TrainingSummary;

import java.nio.file.Path;

/**
 * Trains a TexForce text-encoder LoRA for JPEG compressibility on DDPO's animal prompts.
 * Usage: {@code TrainWithReward MODEL_DIR RUN_DIR [EPOCHS]}.
 */
public final class TrainWithReward {
    private TrainWithReward() {
    }

    public static void main(String[] args) {
        Path model = Path.of(args.length > 0 ? args[0] : "testdata/tiny-sd1");
        Path run = Path.of(args.length > 1 ? args[1] : "runs/example-jpeg");
        int epochs = args.length > 2 ? Integer.parseInt(args[2]) : 5;
        TrainingSummary summary = TexForceTrainer.builder()
                .model(model)
                .reward(JpegSize.compressibility())
                .prompts(PromptSource.animals())
                .epochs(epochs).samplesPerEpoch(16).sampleBatchSize(8).trainBatchSize(8).gradientAccumulation(1)
                .steps(10).learningRate(3e-3f).clipRange(1e-2f)
                .outputDir(run)
                .resume(true)
                .build()
                .train();
        System.out.printf("fixed-seed reward: %.4f before, %.4f after; LoRA at %s%n", summary.evalRewardBefore(),
                summary.evalRewardAfter(), run.resolve("lora.safetensors"));
    }
}
