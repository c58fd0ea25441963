package io.texforce.rl;

import io.texforce.tensor.Tensor;
import io.texforce.tensor.TestData;
import io.texforce.tensor.io.SafeTensors;
import io.texforce.tensor.lora.LoraNetwork;
import io.texforce.unet.pipeline.StableDiffusionPipeline;
import org.junit.jupiter.api.Test;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

/**
 * One TexForce PPO step against the reference (golden.json "ppo"): LoRA'd text encoder -> cond and uncond
 * embeddings -> CFG U-Net at t=781 -> DDPO log-prob -> clipped loss -> gradients of every LoRA A and B.
 */
class PpoGoldenTest {

    @Test
    void logProbsLossAndLoraGradientsMatchTheReference() {
        StableDiffusionPipeline pipe = StableDiffusionPipeline.load(TestData.tinySd1());
        LoraNetwork lora = GoldenPpoStep.trainableLora(pipe);
        try (SafeTensors g = SafeTensors.open(TestData.tinySd1().resolve("golden/golden.safetensors"))) {
            Tensor logp = GoldenPpoStep.logProb(pipe, g);
            float[] want = g.floats("ppo.out.log_prob"), got = logp.toFloatArray();
            double lpErr = Math.max(Math.abs(want[0] - got[0]), Math.abs(want[1] - got[1]));
            System.out.printf("ppo.out.log_prob max abs error %.3e%n", lpErr);
            assertTrue(lpErr < 1e-4, "log-prob error " + lpErr);

            PpoLoss small = GoldenPpoStep.loss(logp.detach(), g, 1e-4f);
            assertEquals(g.floats("ppo.out.loss_clip_1e-4")[0], small.loss().item(), 1e-4f);
            PpoLoss loss = GoldenPpoStep.loss(logp, g, 0.5f);
            assertEquals(g.floats("ppo.out.loss_clip_0.5")[0], loss.loss().item(), 1e-4f);
            loss.loss().backward();

            double[] err = GoldenPpoStep.worstRelativeGradientError(lora, g);
            double worst = err[0];
            int checked = (int) err[1];
            System.out.printf("ppo.grad.* (%d tensors) max error relative to each tensor's max %.3e%n", checked, worst);
            assertEquals(24, checked);
            assertTrue(worst < 1e-3, "relative gradient error " + worst);
        }
    }
}
