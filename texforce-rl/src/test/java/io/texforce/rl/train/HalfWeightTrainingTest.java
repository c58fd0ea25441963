package io.texforce.rl.train;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import com.fasterxml.jackson.databind.ObjectMapper;
import com.fasterxml.jackson.databind.node.ObjectNode;
import io.texforce.rewards.JpegSize;
import io.texforce.rl.prompts.PromptSource;
import io.texforce.tensor.TestData;
import io.texforce.tensor.WeightDtype;
import io.texforce.tensor.io.DType;
import io.texforce.tensor.io.SafeTensors;
import java.nio.file.Path;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/** Training with 16-bit frozen weights: fp32 LoRA and optimizer state, the dtype recorded for resume. */
class HalfWeightTrainingTest {
    private static final ObjectMapper JSON = new ObjectMapper();

    @TempDir
    Path tmp;

    private static TexForceTrainer.Builder small(Path out) {
        return TexForceTrainer.builder().model(TestData.tinySd1()).reward(JpegSize.compressibility())
                .prompts(PromptSource.of("a cat", "a dog")).outputDir(out).progressBar(false).log(s -> { })
                .epochs(1).samplesPerEpoch(4).sampleBatchSize(2).trainBatchSize(2).gradientAccumulation(1)
                .steps(4).evalImages(2).learningRate(1e-2f).clipRange(0.2f).seed(7);
    }

    @Test
    void aBf16RunTrainsFp32LoraAndRecordsItsDtype() {
        Path out = tmp.resolve("bf16");
        TexForceTrainer trainer = small(out).weightDtype(WeightDtype.BF16).build();
        assertEquals(WeightDtype.BF16, trainer.weightDtype());
        trainer.train();
        try (SafeTensors lora = SafeTensors.open(out.resolve("lora.safetensors"))) {
            assertTrue(lora.keys().stream().allMatch(k -> lora.info(k).dtype() == DType.F32));
            assertTrue(lora.tensor("text_encoder.text_model.encoder.layers.0.self_attn.q_proj.lora_B.weight")
                    .abs().sum().item() > 0, "lora_B moved away from zero");
        }
        RunCheckpoint ck = RunCheckpoint.read(out.resolve("checkpoint.safetensors"));
        assertTrue(ck.configJson().contains("\"weightDtype\":\"bf16\""), ck.configJson());
        var e = assertThrows(IllegalArgumentException.class, () -> small(out).epochs(2).resume(true).build().train());
        assertTrue(e.getMessage().contains("different settings") && e.getMessage().contains("bf16"), e.getMessage());
        assertEquals(2, small(out).epochs(2).weightDtype(WeightDtype.BF16).resume(true).build().train().epochs().size());
    }

    @Test
    void aRunSavedBeforeTheDtypeWasRecordedResumesAsFp32() throws Exception {
        Path out = tmp.resolve("old");
        small(out).build().train();
        Path file = out.resolve("checkpoint.safetensors");
        RunCheckpoint ck = RunCheckpoint.read(file);
        ObjectNode config = (ObjectNode) JSON.readTree(ck.configJson());
        assertEquals("fp32", config.remove("weightDtype").asText());
        new RunCheckpoint(ck.epoch(), ck.optimizerSteps(), ck.rngOffset(), ck.lora(), ck.optimizer(), ck.tracker(),
                JSON.writeValueAsString(config)).write(file);
        assertEquals(2, small(out).epochs(2).resume(true).build().train().epochs().size());
    }

    @Test
    void sixteenBitActivationsAreRefusedOnTheCpuWithTheReason() {
        var e = assertThrows(IllegalArgumentException.class,
                () -> small(tmp.resolve("act")).weightDtype(WeightDtype.BF16).activationDtype(WeightDtype.BF16).build());
        assertEquals("activationDtype(bf16): the cpu backend keeps activations in fp32 only, not bf16", e.getMessage());
        TexForceTrainer fp32 = small(tmp.resolve("act32")).activationDtype(WeightDtype.FP32).build();
        assertEquals(WeightDtype.FP32, fp32.activationDtype());
    }

    @Test
    void aGivenPipelineKeepsItsOwnDtype() {
        var e = assertThrows(IllegalArgumentException.class, () -> small(tmp.resolve("p"))
                .pipeline(io.texforce.unet.pipeline.StableDiffusionPipeline.load(TestData.tinySd1()))
                .weightDtype(WeightDtype.FP16).build());
        assertTrue(e.getMessage().contains("weightDtype"), e.getMessage());
    }
}
