package io.texforce.cli;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import io.texforce.clip.text.ClipTextConfig;
import io.texforce.clip.text.ClipTextModel;
import io.texforce.clip.tokenizer.ClipTokenizer;
import io.texforce.tensor.Backend;
import io.texforce.tensor.WeightDtype;
import io.texforce.tensor.nn.RandomSource;
import io.texforce.tensor.nn.VarBuilder;
import io.texforce.unet.model.UNet2DConditionModel;
import io.texforce.unet.model.UNetConfig;
import io.texforce.unet.pipeline.StableDiffusionPipeline;
import io.texforce.unet.scheduler.DdimScheduler;
import io.texforce.unet.scheduler.SchedulerConfig;
import io.texforce.unet.vae.AutoencoderKL;
import io.texforce.unet.vae.VaeConfig;

import java.io.IOException;
import java.io.InputStream;
import java.nio.file.Files;
import java.nio.file.Path;

/**
 * Full-size models with random weights for the benchmarks: the component configs come from the built-in SD 1.5 /
 * 2.1 configs ({@code sd15}, {@code sd21}) or from a pipeline folder's {@code <component>/config.json}.
 */
final class BenchModels {
    private static final ObjectMapper JSON = new ObjectMapper();

    private BenchModels() {
    }

    static UNetConfig unet(String config) {
        return UNetConfig.fromJson(read(config, "unet", "config.json"), describe(config, "unet"));
    }

    /**
     * A whole pipeline of random weights (std 0.02) on {@code backend}, frozen weights stored in {@code dtype}, with
     * the tokenizer of {@code tokenizer}.
     */
    static StableDiffusionPipeline pipeline(String config, Path tokenizer, Backend backend, WeightDtype dtype) {
        if (!ClipTokenizer.isTokenizerFolder(tokenizer)) {
            throw new UserError("no CLIP tokenizer at " + tokenizer + " (expected vocab.json and merges.txt; pass"
                    + " --tokenizer, e.g. testdata/tiny-sd1/tokenizer)");
        }
        RandomSource weights = new RandomSource(0, 0.02f);
        ClipTextConfig text = ClipTextConfig.fromJson(read(config, "text_encoder", "config.json"));
        VaeConfig vae = VaeConfig.fromJson(read(config, "vae", "config.json"), describe(config, "vae"));
        SchedulerConfig scheduler = SchedulerConfig.fromJson(read(config, "scheduler", "scheduler_config.json")
                .toString(), describe(config, "scheduler"));
        return new StableDiffusionPipeline(ClipTokenizer.load(tokenizer),
                new ClipTextModel(VarBuilder.of(weights, backend, dtype), text),
                UNet2DConditionModel.build(unet(config), weights, backend, dtype),
                AutoencoderKL.build(vae, weights, backend, dtype),
                new DdimScheduler(scheduler));
    }

    private static String describe(String config, String component) {
        return Files.isDirectory(Path.of(config)) ? config + "/" + component : "built-in " + config + " " + component;
    }

    private static JsonNode read(String config, String component, String file) {
        Path dir = Path.of(config);
        try {
            if (Files.isDirectory(dir)) {
                Path f = Files.isRegularFile(dir.resolve(component).resolve(file)) ? dir.resolve(component).resolve(file)
                        : dir.resolve(file);
                if (!Files.isRegularFile(f)) {
                    throw new UserError(dir + " has no " + component + "/" + file);
                }
                return JSON.readTree(f.toFile());
            }
            String res = "configs/" + config + "/" + component + "/" + file;
            try (InputStream in = BenchModels.class.getResourceAsStream(res)) {
                if (in == null) {
                    throw new UserError("unknown config '" + config + "' (sd15, sd21, or a pipeline folder)");
                }
                return JSON.readTree(in);
            }
        } catch (IOException e) {
            throw new UserError("cannot read the " + component + " config of " + config + ": " + e.getMessage());
        }
    }
}
