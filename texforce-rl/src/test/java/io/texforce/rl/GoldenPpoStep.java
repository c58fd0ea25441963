package io.texforce.rl;

import static org.junit.jupiter.api.Assertions.assertNotNull;
import static org.junit.jupiter.api.Assertions.assertTrue;

import io.texforce.tensor.Backend;
import io.texforce.tensor.Tensor;
import io.texforce.tensor.TestData;
import io.texforce.tensor.io.SafeTensors;
import io.texforce.tensor.lora.LoraNetwork;
import io.texforce.unet.pipeline.StableDiffusionPipeline;

import java.util.Map;

/**
 * The fixture's golden PPO step (the {@code ppo.*} entries of tiny-sd1's goldens) on a loaded pipeline, shared by
 * the tests that run it on the CPU, with 16-bit weights and on another backend.
 */
public final class GoldenPpoStep {
    private GoldenPpoStep() {
    }

    /** The fixture's text-encoder LoRA attached to {@code pipe} as "policy", its tensors requiring grad. */
    public static LoraNetwork trainableLora(StableDiffusionPipeline pipe) {
        LoraNetwork lora = pipe.textEncoder().loadLora(TestData.tinySd1().resolve("lora_text_encoder.safetensors"),
                "policy", 1f);
        lora.parameters().values().forEach(t -> t.requiresGrad(true));
        return lora;
    }

    /** log p of the golden transitions under {@code pipe} (guidance 7.5, eta 1), on the pipeline's backend. */
    public static Tensor logProb(StableDiffusionPipeline pipe, SafeTensors g) {
        Backend be = pipe.backend();
        int[][] ids = g.intRows("ppo.in.prompt_ids");
        int t = g.ints("ppo.in.timestep")[0];
        PolicyObjective objective = new PolicyObjective(pipe, new DdimPolicy(pipe.scheduler(), 50, 1f), 7.5f, "", 0);
        return objective.logProb(ids, g.tensor("ppo.in.sample").to(be), new int[]{t, t},
                g.tensor("ppo.in.prev_sample").to(be));
    }

    /** The golden loss with clip range {@code clip} for {@code logp}, on its backend. */
    public static PpoLoss loss(Tensor logp, SafeTensors g, float clip) {
        Backend be = logp.backend();
        return PpoLoss.compute(logp, g.tensor("ppo.in.old_log_prob").to(be), g.tensor("ppo.in.advantages").to(be),
                clip);
    }

    /**
     * The worst, over the LoRA's tensors, of max |grad - golden| / max |golden|; every tensor must have a gradient
     * and a golden. Returns {worst error, number of tensors}.
     */
    public static double[] worstRelativeGradientError(LoraNetwork lora, SafeTensors g) {
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
        return new double[]{worst, checked};
    }
}
