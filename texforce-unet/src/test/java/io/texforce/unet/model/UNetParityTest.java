package io.texforce.unet.model;

import io.texforce.tensor.GradMode;
import io.texforce.tensor.Tensor;
import io.texforce.tensor.Parity;
import io.texforce.tensor.TestData;
import io.texforce.tensor.io.SafeTensors;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

/** The U-Net against diffusers 0.21 on the tiny-sd1 fixture (F16 weights). */
class UNetParityTest {
    static UNet2DConditionModel unet;
    static SafeTensors golden;

    @BeforeAll
    static void load() {
        unet = UNet2DConditionModel.load(TestData.tinySd1());
        golden = SafeTensors.open(TestData.tinySd1().resolve("golden/golden.safetensors"));
    }

    @AfterAll
    static void close() {
        golden.close();
    }

    static double maxAbsDiff(Tensor a, Tensor b) {
        return Parity.maxAbsDiff(a, b);
    }

    static float[] timesteps() {
        return golden.tensor("unet.in.timestep").toFloatArray();
    }

    @Test
    void forwardMatchesDiffusers() {
        try (var g = GradMode.noGrad()) {
            Tensor out = unet.forward(golden.tensor("unet.in.sample"), timesteps(),
                    golden.tensor("unet.in.encoder_hidden_states"));
            double err = maxAbsDiff(out, golden.tensor("unet.out.sample"));
            System.out.printf("unet.out.sample max abs error %.3e%n", err);
            assertTrue(err < 1e-4, "max abs error " + err);
        }
    }

    @Test
    void loraMatchesDiffusers() {
        var lora = unet.loadLora(TestData.tinySd1().resolve("lora_unet.safetensors"), "u", 1f);
        try (var g = GradMode.noGrad()) {
            assertTrue(lora.adapters().size() == 48, "adapters: " + lora.adapters().size());
            Tensor out = unet.forward(golden.tensor("unet.in.sample"), timesteps(),
                    golden.tensor("unet.in.encoder_hidden_states"));
            double err = maxAbsDiff(out, golden.tensor("lora.unet.out.sample"));
            System.out.printf("lora.unet.out.sample max abs error %.3e%n", err);
            assertTrue(err < 1e-4, "max abs error " + err);
        } finally {
            lora.detach();
        }
    }

    @Test
    void gradientIntoEncoderHiddenStatesMatchesDiffusers() {
        Tensor ctx = golden.tensor("unet.in.encoder_hidden_states").requiresGrad(true);
        Tensor out = unet.forward(golden.tensor("unet.in.sample"), timesteps(), ctx);
        out.mul(golden.tensor("grad.unet.weights_r")).sum().backward();
        Tensor want = golden.tensor("grad.unet.d_encoder_hidden_states");
        double err = maxAbsDiff(ctx.grad(), want);
        double scale = want.abs().max().item();
        System.out.printf("grad.unet.d_encoder_hidden_states max abs error %.3e (relative to max %.3e)%n", err,
                err / scale);
        assertTrue(err / scale < 1e-3, "relative error " + err / scale);
    }

    @Test
    void forwardIsBitIdenticalWhetherOrNotTheJitHasCompiledIt() {
        // The first calls run interpreted/C1 code, later ones C2 code with vector intrinsics: resume after a crash
        // (a fresh JVM) must reproduce an uninterrupted run bit for bit, so every execution mode must agree.
        io.texforce.tensor.random.Generator g = new io.texforce.tensor.random.Generator(11);
        Tensor x = g.randn(3, 4, 16, 16), ctx = g.randn(3, 77, 32);
        try (var ng = GradMode.noGrad()) {
            float[] first = unet.forward(x, new float[]{321}, ctx).toFloatArray();
            for (int i = 0; i < 5; i++) {
                float[] again = unet.forward(x, new float[]{321}, ctx).toFloatArray();
                assertTrue(java.util.Arrays.equals(first, again), "forward pass " + (i + 2) + " differs from the first");
            }
        }
    }
}
