package io.texforce.unet.model;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import io.texforce.tensor.GradMode;
import io.texforce.tensor.Parity;
import io.texforce.tensor.TestData;
import io.texforce.tensor.Tensor;
import io.texforce.tensor.WeightDtype;
import io.texforce.tensor.cpu.CpuBackend;
import io.texforce.tensor.io.SafeTensors;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.CsvSource;

/**
 * The U-Net with 16-bit weights against diffusers' float32 golden (the fixture's U-Net is stored in F16, so fp16
 * weights are the file's own bits). Errors are relative to the largest golden value.
 */
class HalfWeightUNetTest {
    static SafeTensors golden;

    @BeforeAll
    static void load() {
        golden = SafeTensors.open(TestData.tinySd1().resolve("golden/golden.safetensors"));
    }

    @AfterAll
    static void close() {
        golden.close();
    }

    private static double relative(Tensor actual, Tensor want) {
        return Parity.maxAbsDiff(actual, want) / Parity.maxAbsDiff(want, want.zerosLike());
    }

    @ParameterizedTest
    @CsvSource({"BF16, 2e-2, 3e-2", "FP16, 1e-4, 1e-4"})
    void forwardAndContextGradientStayCloseToDiffusers(WeightDtype dtype, double relativeTolerance,
                                                       double gradientTolerance) {
        UNet2DConditionModel unet = UNet2DConditionModel.load(TestData.tinySd1(), CpuBackend.INSTANCE, dtype);
        float[] t = golden.tensor("unet.in.timestep").toFloatArray();
        try (var g = GradMode.noGrad()) {
            Tensor out = unet.forward(golden.tensor("unet.in.sample"), t, golden.tensor("unet.in.encoder_hidden_states"));
            double err = relative(out, golden.tensor("unet.out.sample"));
            System.out.printf("unet.out.sample with %s weights: relative max error %.3e%n", dtype.cliName(), err);
            assertTrue(err < relativeTolerance, "relative error " + err);
        }
        Tensor ctx = golden.tensor("unet.in.encoder_hidden_states").requiresGrad(true);
        unet.forward(golden.tensor("unet.in.sample"), t, ctx).mul(golden.tensor("grad.unet.weights_r")).sum().backward();
        double err = relative(ctx.grad(), golden.tensor("grad.unet.d_encoder_hidden_states"));
        System.out.printf("unet d(encoder_hidden_states) with %s weights: relative max error %.3e%n", dtype.cliName(),
                err);
        assertTrue(err < gradientTolerance, "relative error " + err);
    }

    @Test
    void parameterBytesHalveForTheLayerWeights() {
        UNet2DConditionModel fp32 = UNet2DConditionModel.load(TestData.tinySd1());
        UNet2DConditionModel bf16 = UNet2DConditionModel.load(TestData.tinySd1(), CpuBackend.INSTANCE, WeightDtype.BF16);
        long halfElements = bf16.namedParameters().values().stream().filter(p -> p.dtype() == WeightDtype.BF16)
                .mapToLong(Tensor::numel).sum();
        long params = fp32.parameterCount();
        assertEquals(4 * params, fp32.parameterBytes());
        assertEquals(4 * params - 2 * halfElements, bf16.parameterBytes());
        double ratio = (double) bf16.parameterBytes() / fp32.parameterBytes();
        System.out.printf("U-Net parameters: fp32 %d bytes, bf16 %d bytes (ratio %.3f; %.1f%% of elements are 16-bit"
                + " layer weights, the rest norms and biases)%n", fp32.parameterBytes(), bf16.parameterBytes(), ratio,
                100.0 * halfElements / params);
        assertTrue(ratio < 0.53, "ratio " + ratio);
    }
}
