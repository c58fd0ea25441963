package io.texforce.examples;

import io.texforce.rewards.JpegSize;
import io.texforce.rewards.Reward;
import io.texforce.tensor.lora.LoraNetwork;
import io.texforce.unet.pipeline.GenerationRequest;
import io.texforce.unet.pipeline.StableDiffusionPipeline;

import java.nio.file.Path;
import java.util.List;

/**
 * Compares the base model with a text-encoder LoRA on fixed seeds (the paper's Table 1 protocol, here with JPEG
 * compressibility). Usage: {@code EvaluateLoras MODEL_DIR TEXT_LORA [SEEDS]}.
 */
public final class EvaluateLoras {
    private EvaluateLoras() {
    }

    public static void main(String[] args) {
        StableDiffusionPipeline pipe = StableDiffusionPipeline.load(Path.of(args[0]));
        int seeds = args.length > 2 ? Integer.parseInt(args[2]) : 8;
        try (Reward reward = JpegSize.compressibility()) {
            System.out.printf("base:      %.4f%n", mean(pipe, reward, seeds));
            LoraNetwork lora = pipe.textEncoder().loadLora(Path.of(args[1]), "texforce", 1f);
            System.out.printf("TexForce:  %.4f%n", mean(pipe, reward, seeds));
            lora.detach();
        }
    }

    private static double mean(StableDiffusionPipeline pipe, Reward reward, int seeds) {
        double sum = 0;
        for (int s = 0; s < seeds; s++) {
            var images = pipe.generate(new GenerationRequest(List.of("a cat"), "", 10, 5f, 1f, new long[]{s}, null, 0, 0, 0))
                    .images();
            sum += reward.score(images, List.of("a cat"))[0];
        }
        return sum / seeds;
    }
}
