package io.texforce.rl.train;

import com.fasterxml.jackson.databind.ObjectMapper;
import com.fasterxml.jackson.databind.node.ArrayNode;
import com.fasterxml.jackson.databind.node.ObjectNode;
import io.texforce.rewards.JpegSize;
import io.texforce.rl.prompts.PromptSource;
import io.texforce.tensor.Tensor;
import io.texforce.tensor.TestData;
import io.texforce.tensor.io.SafeTensors;
import io.texforce.tensor.io.SafeTensorsWriter;
import io.texforce.unet.pipeline.StableDiffusionPipeline;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.Map;
import java.util.stream.Stream;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

/**
 * {@code train} runs unchanged on an SD 2.x-style checkpoint: v-prediction scheduler, gelu text encoder padded
 * with "!", U-Net with linear projections and per-block head counts. Built from the tiny fixture by rewriting
 * configs and reshaping the 1x1-conv projections into linear weights, as SD 2.x stores them.
 */
class Sd2StyleTrainingTest {
    @TempDir
    Path tmp;

    private static final ObjectMapper JSON = new ObjectMapper();

    private Path makeSd2Style() throws IOException {
        Path src = TestData.tinySd1(), dst = tmp.resolve("tiny-sd2");
        try (Stream<Path> files = Files.walk(src)) {
            for (Path p : files.toList()) {
                Path target = dst.resolve(src.relativize(p).toString());
                if (Files.isDirectory(p)) {
                    Files.createDirectories(target);
                } else if (!p.toString().contains("golden")) {
                    Files.copy(p, target);
                }
            }
        }
        ObjectNode sched = (ObjectNode) JSON.readTree(dst.resolve("scheduler/scheduler_config.json").toFile());
        sched.put("prediction_type", "v_prediction");
        sched.put("timestep_spacing", "trailing");
        JSON.writeValue(dst.resolve("scheduler/scheduler_config.json").toFile(), sched);
        ObjectNode te = (ObjectNode) JSON.readTree(dst.resolve("text_encoder/config.json").toFile());
        te.put("hidden_act", "gelu");
        JSON.writeValue(dst.resolve("text_encoder/config.json").toFile(), te);
        for (String f : new String[]{"tokenizer/tokenizer_config.json", "tokenizer/special_tokens_map.json"}) {
            ObjectNode tok = (ObjectNode) JSON.readTree(dst.resolve(f).toFile());
            tok.put("pad_token", "!");
            JSON.writeValue(dst.resolve(f).toFile(), tok);
        }
        ObjectNode unet = (ObjectNode) JSON.readTree(dst.resolve("unet/config.json").toFile());
        unet.put("use_linear_projection", true);
        ArrayNode heads = unet.putArray("attention_head_dim");
        heads.add(2).add(4);
        JSON.writeValue(dst.resolve("unet/config.json").toFile(), unet);
        Path weights = dst.resolve("unet/diffusion_pytorch_model.safetensors");
        Map<String, Tensor> all = SafeTensors.loadAll(weights);
        SafeTensorsWriter w = new SafeTensorsWriter();
        all.forEach((k, t) -> w.put(k, (k.endsWith("proj_in.weight") || k.endsWith("proj_out.weight")) && t.dim() == 4
                ? t.reshape(t.size(0), t.size(1)) : t));
        w.write(weights);
        return dst;
    }

    @Test
    void vPredictionCheckpointTrains() throws IOException {
        Path model = makeSd2Style();
        StableDiffusionPipeline pipe = StableDiffusionPipeline.load(model);
        assertEquals(0, pipe.tokenizer().padId(), "SD 2.x pads with '!'");
        TrainingSummary s = TexForceTrainer.builder().pipeline(pipe).reward(JpegSize.compressibility())
                .prompts(PromptSource.of("a cat")).outputDir(tmp.resolve("run")).progressBar(false).log(x -> { })
                .epochs(1).samplesPerEpoch(2).sampleBatchSize(2).trainBatchSize(2).steps(4).evalImages(1)
                .build().train();
        assertEquals(1, s.epochs().size());
        assertTrue(Float.isFinite(s.epochs().get(0).rewardMean()));
        assertTrue(Files.isRegularFile(tmp.resolve("run/lora.safetensors")));
    }
}
