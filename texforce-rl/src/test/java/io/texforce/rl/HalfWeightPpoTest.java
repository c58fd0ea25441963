package io.texforce.rl;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertNotNull;
import static org.junit.jupiter.api.Assertions.assertTrue;

import io.texforce.tensor.Tensor;
import io.texforce.tensor.TestData;
import io.texforce.tensor.WeightDtype;
import io.texforce.tensor.io.SafeTensors;
import io.texforce.tensor.lora.LoraNetwork;
import io.texforce.unet.pipeline.StableDiffusionPipeline;
import java.util.Arrays;
import java.util.Map;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.CsvSource;

/**
 * The PPO step of {@link PpoGoldenTest} with the pipeline's frozen weights in 16 bits: the fp32 LoRA gradients
 * stay close to the float32 reference's (errors relative to each gradient tensor's largest value).
 */
class HalfWeightPpoTest {
    @ParameterizedTest
    @CsvSource({"BF16, 5e-2", "FP16, 1e-2"})
    void loraGradientsStayCloseToTheFloat32Reference(WeightDtype dtype, double tolerance) {
        StableDiffusionPipeline pipe = StableDiffusionPipeline.load(TestData.tinySd1(), dtype);
        assertEquals(dtype, pipe.textEncoder().weightDtype());
        LoraNetwork lora = pipe.textEncoder().loadLora(TestData.tinySd1().resolve("lora_text_encoder.safetensors"),
                "policy", 1f);
        lora.parameters().values().forEach(t -> t.requiresGrad(true));
        try (SafeTensors g = SafeTensors.open(TestData.tinySd1().resolve("golden/golden.safetensors"))) {
            int[][] ids = g.intRows("ppo.in.prompt_ids");
            int t = g.ints("ppo.in.timestep")[0];
            PolicyObjective objective = new PolicyObjective(pipe, new DdimPolicy(pipe.scheduler(), 50, 1f), 7.5f, "", 0);
            Tensor logp = objective.logProb(ids, g.tensor("ppo.in.sample"), new int[]{t, t},
                    g.tensor("ppo.in.prev_sample"));
            PpoLoss.compute(logp, g.tensor("ppo.in.old_log_prob"), g.tensor("ppo.in.advantages"), 0.5f).loss().backward();
            double worst = 0;
            for (Map.Entry<String, Tensor> e : lora.parameters().entrySet()) {
                Tensor grad = e.getValue().grad();
                assertNotNull(grad, "gradient of " + e.getKey());
                assertEquals(WeightDtype.FP32, grad.dtype());
                float[] a = grad.toFloatArray(), b = g.floats("ppo.grad." + e.getKey());
                double num = 0, den = 0;
                for (int i = 0; i < a.length; i++) {
                    num = Math.max(num, Math.abs(a[i] - b[i]));
                    den = Math.max(den, Math.abs(b[i]));
                }
                worst = Math.max(worst, num / den);
            }
            System.out.printf("ppo.grad.* with %s weights: max error relative to each tensor's max %.3e%n",
                    dtype.cliName(), worst);
            assertTrue(worst < tolerance, "relative gradient error " + worst);
        }
    }
}
