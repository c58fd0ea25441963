package io.texforce.rl;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import io.texforce.tensor.Tensor;
import io.texforce.tensor.TestData;
import io.texforce.tensor.WeightDtype;
import io.texforce.tensor.io.SafeTensors;
import io.texforce.tensor.lora.LoraNetwork;
import io.texforce.unet.pipeline.StableDiffusionPipeline;
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
        LoraNetwork lora = GoldenPpoStep.trainableLora(pipe);
        try (SafeTensors g = SafeTensors.open(TestData.tinySd1().resolve("golden/golden.safetensors"))) {
            GoldenPpoStep.loss(GoldenPpoStep.logProb(pipe, g), g, 0.5f).loss().backward();
            double worst = GoldenPpoStep.worstRelativeGradientError(lora, g)[0];
            for (Map.Entry<String, Tensor> e : lora.parameters().entrySet()) {
                assertEquals(WeightDtype.FP32, e.getValue().grad().dtype(), "gradient of " + e.getKey());
            }
            System.out.printf("ppo.grad.* with %s weights: max error relative to each tensor's max %.3e%n",
                    dtype.cliName(), worst);
            assertTrue(worst < tolerance, "relative gradient error " + worst);
        }
    }
}
