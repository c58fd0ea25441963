package io.texforce.rl.device;

import io.texforce.rewards.JpegSize;
import io.texforce.rl.GoldenPpoStep;
import io.texforce.rl.PpoLoss;
import io.texforce.rl.prompts.PromptSource;
import io.texforce.rl.train.TexForceTrainer;
import io.texforce.rl.train.TrainingMode;
import io.texforce.rl.train.TrainingSummary;
import io.texforce.tensor.Backend;
import io.texforce.tensor.Parity;
import io.texforce.tensor.Tensor;
import io.texforce.tensor.TestData;
import io.texforce.tensor.cpu.CpuBackend;
import io.texforce.tensor.foreign.ForeignBackend;
import io.texforce.tensor.io.SafeTensors;
import io.texforce.tensor.lora.LoraNetwork;
import io.texforce.unet.pipeline.StableDiffusionPipeline;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

/**
 * DDPO's log-probability, PPO's loss and whole TexForce runs on the foreign test backend: the numbers, the LoRA
 * files and the checkpoints must equal the CPU run's bit for bit, and a run resumed on it must too.
 */
class ForeignBackendTrainingTest {
    static final ForeignBackend F = ForeignBackend.INSTANCE;

    @TempDir
    Path tmp;

    @Test
    void ppoStepMatchesTheCpuAndTheReference() {
        List<float[]> cpu = ppoStep(CpuBackend.INSTANCE), dev = ppoStep(F);
        String[] what = {"log-probs", "loss", "LoRA gradients"};
        for (int i = 0; i < cpu.size(); i++) {
            System.out.printf("PPO step on foreign, %s: max abs error vs cpu %.3e%n", what[i],
                    Parity.maxAbsDiff(dev.get(i), cpu.get(i)));
            assertArrayEquals(cpu.get(i), dev.get(i), what[i]);
        }
        try (SafeTensors g = SafeTensors.open(TestData.tinySd1().resolve("golden/golden.safetensors"))) {
            double lp = Parity.maxAbsDiff(dev.get(0), g.floats("ppo.out.log_prob"));
            System.out.printf("PPO step on foreign vs reference: log-prob max abs error %.3e%n", lp);
            assertTrue(lp < 1e-4, "log-prob error " + lp);
            assertEquals(g.floats("ppo.out.loss_clip_0.5")[0], dev.get(1)[0], 1e-4f);
        }
    }

    /** The golden PPO step: log-probs [2], the loss, and the gradients of the 24 LoRA tensors, flattened. */
    private static List<float[]> ppoStep(Backend be) {
        StableDiffusionPipeline pipe = StableDiffusionPipeline.load(TestData.tinySd1(), be);
        LoraNetwork lora = GoldenPpoStep.trainableLora(pipe);
        try (SafeTensors g = SafeTensors.open(TestData.tinySd1().resolve("golden/golden.safetensors"))) {
            Tensor logp = GoldenPpoStep.logProb(pipe, g);
            assertEquals(be, logp.backend());
            PpoLoss loss = GoldenPpoStep.loss(logp, g, 0.5f);
            loss.loss().backward();
            List<float[]> out = new ArrayList<>();
            out.add(logp.toFloatArray());
            out.add(new float[]{loss.loss().item(), loss.approxKl(), loss.clipFraction()});
            List<Float> grads = new ArrayList<>();
            for (Tensor p : lora.parameters().values()) {
                assertEquals(be, p.grad().backend());
                for (float v : p.grad().toFloatArray()) {
                    grads.add(v);
                }
            }
            float[] gArr = new float[grads.size()];
            for (int i = 0; i < gArr.length; i++) {
                gArr[i] = grads.get(i);
            }
            out.add(gArr);
            return out;
        }
    }

    private TexForceTrainer.Builder small(Path out) {
        return TexForceTrainer.builder().model(TestData.tinySd1()).reward(JpegSize.compressibility())
                .prompts(PromptSource.of("a cat", "a dog")).outputDir(out).progressBar(false).log(s -> { })
                .mode(TrainingMode.JOINT).epochs(2).samplesPerEpoch(4).sampleBatchSize(2).trainBatchSize(2)
                .gradientAccumulation(1).steps(4).evalImages(2).learningRate(1e-2f).clipRange(0.2f).seed(7);
    }

    @Test
    void jointTrainingRunsAndResumesBitIdenticalToTheCpu() {
        Path cpuRun = tmp.resolve("cpu"), devRun = tmp.resolve("foreign"), resumed = tmp.resolve("resumed");
        TrainingSummary cpu = small(cpuRun).build().train();
        TrainingSummary dev = small(devRun).device("foreign").build().train();
        assertEquals(cpu.evalRewardBefore(), dev.evalRewardBefore());
        assertEquals(cpu.evalRewardAfter(), dev.evalRewardAfter());
        for (int e = 0; e < 2; e++) {
            assertEquals(cpu.epochs().get(e).loss(), dev.epochs().get(e).loss(), "loss of epoch " + (e + 1));
            assertEquals(cpu.epochs().get(e).rewardMean(), dev.epochs().get(e).rewardMean());
        }
        RuntimeException kill = new RuntimeException("killed");
        assertThrows(RuntimeException.class, () -> small(resumed).device(F).onEpoch(m -> {
            if (m.epoch() == 1) {
                throw kill;
            }
        }).build().train());
        small(resumed).device(F).resume(true).build().train();
        for (String file : List.of("checkpoint.safetensors", "lora.safetensors", "unet_lora.safetensors")) {
            Map<String, Tensor> want = SafeTensors.loadAll(cpuRun.resolve(file));
            for (Path run : List.of(devRun, resumed)) {
                Map<String, Tensor> got = SafeTensors.loadAll(run.resolve(file));
                assertEquals(want.keySet(), got.keySet(), file);
                double worst = 0;
                for (String k : want.keySet()) {
                    worst = Math.max(worst, Parity.maxAbsDiff(got.get(k), want.get(k)));
                }
                System.out.printf("TexForce joint run (%s) on foreign, %s: %d tensors, max abs error vs cpu %.3e%n",
                        run.getFileName(), file, want.size(), worst);
                assertEquals(0.0, worst, file);
            }
        }
    }

    @Test
    void clipRewardsScoreImagesFromAnotherDevice() {
        Path clip = TestData.tinyClip();
        Tensor images = new io.texforce.tensor.random.Generator(3).rand(2, 3, 32, 32);
        List<String> prompts = List.of("a cat", "a dog");
        for (String name : List.of("aesthetic", "clip-score")) {
            try (var reward = new io.texforce.rewards.RewardFactory(new io.texforce.rewards.RewardOptions(
                    clip.resolve("hf"), clip.resolve("aesthetic_mlp.safetensors"), null, Map.of())).create(name)) {
                float[] onCpu = reward.score(images, prompts), onDevice = reward.score(images.to(F), prompts);
                System.out.printf("%s reward of foreign images: max abs error vs cpu %.3e%n", name,
                        Parity.maxAbsDiff(onDevice, onCpu));
                assertArrayEquals(onCpu, onDevice, name);
            }
        }
    }

    @Test
    void aPipelineOnAnotherDeviceThanAskedIsRefused() {
        StableDiffusionPipeline cpu = StableDiffusionPipeline.load(TestData.tinySd1());
        IllegalStateException e = assertThrows(IllegalStateException.class,
                () -> small(tmp.resolve("x")).pipeline(cpu).device(F).build());
        assertEquals("TexForceTrainer: device foreign was asked for, but the given pipeline is on cpu", e.getMessage());
    }
}
