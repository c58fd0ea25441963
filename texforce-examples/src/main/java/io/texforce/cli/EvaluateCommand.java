package io.texforce.cli;

import com.fasterxml.jackson.databind.ObjectMapper;
import com.fasterxml.jackson.databind.node.ObjectNode;
import io.texforce.rewards.Reward;
import io.texforce.rl.prompts.PromptSource;
import io.texforce.tensor.Tensor;
import io.texforce.unet.pipeline.GenerationRequest;
import io.texforce.unet.pipeline.StableDiffusionPipeline;
import picocli.CommandLine.Command;
import picocli.CommandLine.Mixin;
import picocli.CommandLine.Option;

import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;

/** {@code texforce evaluate}: mean/std reward over fixed seeds, to compare base, LoRAs and their fusion. */
@Command(name = "evaluate", mixinStandardHelpOptions = true,
        description = "Generate one image per seed 0..N-1 (prompt i of the source for seed i, cycling) and print the "
                + "mean and std of the reward as one JSON line.")
final class EvaluateCommand implements Runnable {
    @Option(names = "--model", required = true, description = "Diffusers pipeline folder.")
    Path model;

    @Mixin
    WeightOptions dtype;

    @Mixin
    RewardArgs rewardOptions;

    @Option(names = "--prompts", defaultValue = "animals", description = "Prompt source (as for train). Default: ${DEFAULT-VALUE}.")
    String prompts;

    @Option(names = "--seeds", defaultValue = "16", description = "Number of images. Default: ${DEFAULT-VALUE}.")
    int seeds;

    @Mixin
    PipelineLoraOptions loras;

    @Option(names = "--steps", defaultValue = "50", description = "Default: ${DEFAULT-VALUE}.")
    int steps;

    @Option(names = "--guidance", defaultValue = "5.0", description = "Default: ${DEFAULT-VALUE}.")
    float guidance;

    @Option(names = "--eta", defaultValue = "1.0", description = "Default: ${DEFAULT-VALUE}.")
    float eta;

    @Option(names = "--batch-size", defaultValue = "4", description = "Default: ${DEFAULT-VALUE}.")
    int batchSize;

    @Mixin
    DeviceOption device;

    @Override
    public void run() {
        StableDiffusionPipeline pipe = StableDiffusionPipeline.load(model, dtype.activationsOn(device.backend()), dtype.value,
                dtype.variant);
        loras.attach(pipe);
        PromptSource source = PromptSource.parse(prompts);
        List<Float> scores = new ArrayList<>();
        try (Reward reward = rewardOptions.create(pipe.backend())) {
            for (int start = 0; start < seeds; start += batchSize) {
                int b = Math.min(batchSize, seeds - start);
                List<String> ps = new ArrayList<>();
                long[] s = new long[b];
                for (int i = 0; i < b; i++) {
                    ps.add(source.get(start + i));
                    s[i] = start + i;
                }
                Tensor images = pipe.generate(new GenerationRequest(ps, "", steps, guidance, eta, s, null, 0, 0, 0)).images();
                for (float v : reward.score(images, ps)) {
                    if (Float.isFinite(v)) {
                        scores.add(v);
                    }
                }
            }
            double mean = scores.stream().mapToDouble(Float::doubleValue).average().orElse(Double.NaN);
            double var = scores.stream().mapToDouble(v -> (v - mean) * (v - mean)).average().orElse(Double.NaN);
            ObjectNode json = new ObjectMapper().createObjectNode();
            json.put("reward", reward.name());
            json.put("n", scores.size());
            json.put("mean", mean);
            json.put("std", Math.sqrt(var));
            System.out.println(json);
        }
    }
}
