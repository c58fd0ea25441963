package io.texforce.rl;

import io.texforce.tensor.Tensor;
import io.texforce.tensor.TestData;
import io.texforce.tensor.io.SafeTensors;
import io.texforce.tensor.lora.LoraNetwork;
import io.texforce.unet.pipeline.StableDiffusionPipeline;
import org.junit.jupiter.api.Test;

import java.util.Map;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertNotNull;
import static org.junit.jupiter.api.Assertions.assertTrue;

/**
 * One TexForce PPO step against the reference (golden.json "ppo"): LoRA'd text encoder -> cond and uncond
 * embeddings -> CFG U-Net at t=781 -> DDPO log-prob -> clipped loss -> gradients of every LoRA A and B.
 */
class PpoGoldenTest {

    @Test
    void logProbsLossAndLoraGradientsMatchTheReference() {
        StableDiffusionPipeline pipe = StableDiffusionPipeline.load(TestData.tinySd1());
        LoraNetwork lora = pipe.textEncoder().loadLora(TestData.tinySd1().resolve("lora_text_encoder.safetensors"),
                "policy", 1f);
        lora.parameters().values().forEach(t -> t.requiresGrad(true));
        try (SafeTensors g = SafeTensors.open(TestData.tinySd1().resolve("golden/golden.safetensors"))) {
            int[][] ids = g.intRows("ppo.in.prompt_ids");
            int t = g.ints("ppo.in.timestep")[0];
            PolicyObjective objective = new PolicyObjective(pipe, new DdimPolicy(pipe.scheduler(), 50, 1f), 7.5f, "", 0);
            Tensor logp = objective.logProb(ids, g.tensor("ppo.in.sample"), new int[]{t, t}, g.tensor("ppo.in.prev_sample"));
            float[] want = g.floats("ppo.out.log_prob"), got = logp.toFloatArray();
            double lpErr = Math.max(Math.abs(want[0] - got[0]), Math.abs(want[1] - got[1]));
            System.out.printf("ppo.out.log_prob max abs error %.3e%n", lpErr);
            assertTrue(lpErr < 1e-4, "log-prob error " + lpErr);

            PpoLoss small = PpoLoss.compute(logp.detach(), g.tensor("ppo.in.old_log_prob"), g.tensor("ppo.in.advantages"), 1e-4f);
            assertEquals(g.floats("ppo.out.loss_clip_1e-4")[0], small.loss().item(), 1e-4f);
            PpoLoss loss = PpoLoss.compute(logp, g.tensor("ppo.in.old_log_prob"), g.tensor("ppo.in.advantages"), 0.5f);
            assertEquals(g.floats("ppo.out.loss_clip_0.5")[0], loss.loss().item(), 1e-4f);
            loss.loss().backward();

            double worst = 0;
            int checked = 0;
            for (Map.Entry<String, Tensor> e : lora.parameters().entrySet()) {
                String key = "ppo.grad." + e.getKey();
                assertTrue(g.contains(key), "golden has " + key);
                Tensor grad = e.getValue().grad();
                assertNotNull(grad, "gradient of " + e.getKey());
                float[] a = grad.toFloatArray(), b = g.floats(key);
                double num = 0, den = 0;
                for (int i = 0; i < a.length; i++) {
                    num = Math.max(num, Math.abs(a[i] - b[i]));
                    den = Math.max(den, Math.abs(b[i]));
                }
                worst = Math.max(worst, num / den);
                checked++;
            }
            System.out.printf("ppo.grad.* (%d tensors) max error relative to each tensor's max %.3e%n", checked, worst);
            assertEquals(24, checked);
            assertTrue(worst < 1e-3, "relative gradient error " + worst);
        }
    }
}
