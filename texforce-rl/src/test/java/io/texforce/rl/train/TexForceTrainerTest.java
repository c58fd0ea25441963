package io.texforce.rl.train;

import com.fasterxml.jackson.databind.ObjectMapper;
import io.texforce.rewards.JpegSize;
import io.texforce.rewards.Reward;
import io.texforce.rl.prompts.PromptSource;
import io.texforce.tensor.Tensor;
import io.texforce.tensor.TestData;
import io.texforce.tensor.io.SafeTensors;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

import java.nio.file.Files;
import java.nio.file.Path;
import java.util.List;
import java.util.Map;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

/** End-to-end training runs on the tiny fixture: outputs, resume, failing rewards, U-Net and joint modes. */
class TexForceTrainerTest {
    @TempDir
    Path tmp;

    private static TexForceTrainer.Builder small(Path out) {
        return TexForceTrainer.builder().model(TestData.tinySd1()).reward(JpegSize.compressibility())
                .prompts(PromptSource.of("a cat", "a dog")).outputDir(out).progressBar(false).log(s -> { })
                .epochs(3).samplesPerEpoch(4).sampleBatchSize(2).trainBatchSize(2).gradientAccumulation(1)
                .steps(4).evalImages(2).learningRate(1e-2f).clipRange(0.2f).seed(7);
    }

    @Test
    void runWritesMetricsLoraCheckpointGridsAndCurve() throws Exception {
        Path out = tmp.resolve("run");
        TrainingSummary s = small(out).build().train();
        assertEquals(3, s.epochs().size());
        List<String> lines = Files.readAllLines(out.resolve("metrics.jsonl"));
        assertEquals(3, lines.size());
        var first = new ObjectMapper().readTree(lines.get(0));
        assertEquals(1, first.get("epoch").asInt());
        assertTrue(first.get("reward_mean").isNumber());
        for (String f : List.of("lora.safetensors", "checkpoint.safetensors", "reward_curve.png", "summary.json",
                "samples/epoch-0000.png", "samples/epoch-0003.png")) {
            assertTrue(Files.isRegularFile(out.resolve(f)), f);
        }
        try (SafeTensors lora = SafeTensors.open(out.resolve("lora.safetensors"))) {
            assertEquals(24, lora.keys().size(), "A and B of q/k/v/out_proj in 3 layers");
            assertTrue(lora.metadata().get("lora_adapter_metadata").contains("\"text_encoder.r\":16"));
            Tensor b = lora.tensor("text_encoder.text_model.encoder.layers.0.self_attn.q_proj.lora_B.weight");
            assertTrue(b.abs().sum().item() > 0, "lora_B moved away from zero");
        }
    }

    @Test
    void killedAndResumedRunEndsBitIdentical() {
        Path full = tmp.resolve("full"), killed = tmp.resolve("killed");
        small(full).build().train();
        RuntimeException kill = new RuntimeException("killed");
        assertThrows(RuntimeException.class, () -> small(killed).onEpoch(m -> {
            if (m.epoch() == 2) {
                throw kill;
            }
        }).build().train());
        TrainingSummary resumed = small(killed).resume(true).build().train();
        assertEquals(3, resumed.epochs().size());
        Map<String, Tensor> a = SafeTensors.loadAll(full.resolve("checkpoint.safetensors"));
        Map<String, Tensor> b = SafeTensors.loadAll(killed.resolve("checkpoint.safetensors"));
        assertEquals(a.keySet(), b.keySet());
        for (String k : a.keySet()) {
            assertArrayEquals(a.get(k).toFloatArray(), b.get(k).toFloatArray(), 0f, k);
        }
    }

    @Test
    void resumingWithDifferentSettingsIsRefused() {
        Path out = tmp.resolve("run");
        small(out).epochs(1).build().train();
        var e = assertThrows(IllegalArgumentException.class,
                () -> small(out).learningRate(5e-3f).resume(true).build().train());
        assertTrue(e.getMessage().contains("different settings"), e.getMessage());
        var overwrite = assertThrows(IllegalArgumentException.class, () -> small(out).epochs(1).build().train());
        assertTrue(overwrite.getMessage().contains("already holds a run"), overwrite.getMessage());
    }

    @Test
    void gradientCheckpointingChangesNoNumberAndNeverBlocksResuming() throws Exception {
        Path plain = tmp.resolve("plain"), checkpointed = tmp.resolve("checkpointed");
        small(plain).mode(TrainingMode.JOINT).epochs(1).build().train();
        TexForceTrainer trainer = small(checkpointed).mode(TrainingMode.JOINT).epochs(1).gradientCheckpointing(true)
                .build();
        assertTrue(trainer.config().gradientCheckpointing());
        trainer.train();
        Map<String, Tensor> a = SafeTensors.loadAll(plain.resolve("checkpoint.safetensors"));
        Map<String, Tensor> b = SafeTensors.loadAll(checkpointed.resolve("checkpoint.safetensors"));
        assertEquals(a.keySet(), b.keySet());
        for (String k : a.keySet()) {
            assertArrayEquals(a.get(k).toFloatArray(), b.get(k).toFloatArray(), 0f, k + " differs with checkpointing");
        }
        RunCheckpoint saved = RunCheckpoint.read(checkpointed.resolve("checkpoint.safetensors"));
        assertTrue(new ObjectMapper().readTree(saved.configJson()).get("gradientCheckpointing").asBoolean(),
                saved.configJson());

        // Switched off when resuming: allowed, it is a memory setting.
        small(checkpointed).mode(TrainingMode.JOINT).epochs(2).resume(true).build().train();
        // A checkpoint written before the setting existed has no such key and still resumes.
        Path file = plain.resolve("checkpoint.safetensors");
        RunCheckpoint old = RunCheckpoint.read(file);
        var config = (com.fasterxml.jackson.databind.node.ObjectNode) new ObjectMapper().readTree(old.configJson());
        config.remove("gradientCheckpointing");
        new RunCheckpoint(old.epoch(), old.optimizerSteps(), old.rngOffset(), old.lora(), old.optimizer(),
                old.tracker(), config.toString()).write(file);
        TrainingSummary resumed = small(plain).mode(TrainingMode.JOINT).epochs(2).gradientCheckpointing(true)
                .resume(true).build().train();
        assertEquals(2, resumed.epochs().size());
    }

    @Test
    void samplesWhoseRewardFailsAreDroppedNotTheRun() {
        Reward flaky = new Reward() {
            int calls;

            @Override
            public String name() {
                return "flaky";
            }

            @Override
            public float[] score(Tensor images, List<String> prompts) {
                calls++;
                if (calls == 2) {
                    throw new IllegalStateException("reward service down");
                }
                float[] r = JpegSize.compressibility().score(images, prompts);
                r[0] = Float.NaN;
                return r;
            }
        };
        TrainingSummary s = small(tmp.resolve("flaky")).reward(flaky).epochs(1).samplesPerEpoch(8).build().train();
        assertTrue(s.epochs().get(0).dropped() >= 4, "dropped " + s.epochs().get(0).dropped());
    }

    @Test
    void unetAndJointModesTrainTheirAdapters() {
        Path unet = tmp.resolve("unet"), joint = tmp.resolve("joint");
        small(unet).mode(TrainingMode.UNET).epochs(1).build().train();
        assertTrue(Files.isRegularFile(unet.resolve("unet_lora.safetensors")));
        assertTrue(!Files.exists(unet.resolve("lora.safetensors")));
        small(joint).mode(TrainingMode.JOINT).epochs(1).build().train();
        assertTrue(Files.isRegularFile(joint.resolve("unet_lora.safetensors")));
        assertTrue(Files.isRegularFile(joint.resolve("lora.safetensors")));
    }

    @Test
    void aestheticRewardDrivesTrainingEndToEnd() {
        Path clip = TestData.tinyClip();
        try (Reward aesthetic = new io.texforce.rewards.RewardFactory(new io.texforce.rewards.RewardOptions(
                clip.resolve("hf"), clip.resolve("aesthetic_mlp.safetensors"), null, Map.of())).create("aesthetic")) {
            TrainingSummary s = small(tmp.resolve("aesthetic")).reward(aesthetic).epochs(1).build().train();
            assertTrue(Float.isFinite(s.epochs().get(0).rewardMean()), "aesthetic scores are finite");
            assertEquals(0, s.epochs().get(0).dropped());
        }
    }
}
