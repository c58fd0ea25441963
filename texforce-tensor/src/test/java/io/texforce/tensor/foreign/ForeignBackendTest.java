package io.texforce.tensor.foreign;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import io.texforce.tensor.Functional;
import io.texforce.tensor.Tensor;
import io.texforce.tensor.cpu.CpuBackend;
import io.texforce.tensor.lora.LoraConfig;
import io.texforce.tensor.lora.LoraNetwork;
import io.texforce.tensor.nn.Linear;
import io.texforce.tensor.nn.Module;
import io.texforce.tensor.nn.RandomSource;
import io.texforce.tensor.nn.VarBuilder;
import io.texforce.tensor.optim.AdamW;
import io.texforce.tensor.random.Generator;
import org.junit.jupiter.api.Test;

import java.util.List;

/** The stand-in device catches mixing and reproduces the CPU bit for bit. */
class ForeignBackendTest {
    private static final ForeignBackend F = ForeignBackend.INSTANCE;

    @Test
    void mixingBackendsNamesBothOperands() {
        Tensor host = Tensor.of(new float[]{1, 2}, 2);
        Tensor dev = Tensor.of(F, new float[]{3, 4}, 2);
        IllegalArgumentException e = assertThrows(IllegalArgumentException.class, () -> dev.add(host));
        assertEquals("add mixes backends: operand 0 [2] on foreign, operand 1 [2] on cpu; move tensors with"
                + " tensor.to(backend)", e.getMessage());
        e = assertThrows(IllegalArgumentException.class, () -> Tensor.matmul(dev.reshape(1, 2), host.reshape(2, 1),
                false, false));
        assertTrue(e.getMessage().startsWith("matmul mixes backends: operand 0 [1, 2] on foreign, operand 1 [2, 1] on cpu"),
                e.getMessage());
        e = assertThrows(IllegalArgumentException.class, () -> Tensor.concat(List.of(dev, host), 0));
        assertTrue(e.getMessage().startsWith("concat mixes backends"), e.getMessage());
        e = assertThrows(IllegalArgumentException.class, () -> Functional.layerNorm(dev, host, null, 1e-5f));
        assertTrue(e.getMessage().startsWith("layer_norm mixes backends"), e.getMessage());
        e = assertThrows(IllegalArgumentException.class, () -> dev.copyFrom(host));
        assertTrue(e.getMessage().startsWith("copyFrom mixes backends"), e.getMessage());
    }

    @Test
    void kernelsRefuseTensorsOfAnotherBackend() {
        Tensor host = Tensor.of(new float[]{1, 2}, 2);
        Tensor dev = Tensor.of(F, new float[]{3, 4}, 2);
        IllegalArgumentException e = assertThrows(IllegalArgumentException.class, () -> F.softmax(host));
        assertEquals("the foreign backend's softmax got a tensor [2] on backend cpu: an operation mixed backends",
                e.getMessage());
        e = assertThrows(IllegalArgumentException.class, () -> CpuBackend.INSTANCE.softmax(dev));
        assertTrue(e.getMessage().contains("foreign"), e.getMessage());
    }

    @Test
    void hostCopiesAreCopies() {
        float[] data = {1, 2, 3};
        Tensor dev = Tensor.of(F, data, 3);
        data[0] = 99;
        float[] back = dev.toFloatArray();
        assertArrayEquals(new float[]{1, 2, 3}, back);
        back[1] = 99;
        assertEquals(2f, dev.get(1));
    }

    @Test
    void generatorsDrawTheSameNumbersOnEveryBackend() {
        Generator a = new Generator(7), b = new Generator(7);
        a.randn(3);
        b.randn(F, 3);
        Tensor ha = a.randn(2, 5), hb = b.randn(F, 2, 5);
        assertEquals(F, hb.backend());
        assertArrayEquals(ha.toFloatArray(), hb.toFloatArray());
        assertEquals(a.offset(), b.offset());
        assertArrayEquals(a.rand(4).toFloatArray(), b.rand(F, 4).toFloatArray());
    }

    /** A two-layer model with a trainable LoRA and two AdamW steps: same numbers on both backends. */
    @Test
    void loraTrainingMatchesTheCpu() {
        float[] cpu = trainTwoSteps(CpuBackend.INSTANCE);
        float[] foreign = trainTwoSteps(F);
        System.out.println("foreign vs cpu LoRA training: max abs error " + maxAbs(cpu, foreign));
        assertArrayEquals(cpu, foreign);
    }

    private static float[] trainTwoSteps(io.texforce.tensor.Backend be) {
        VarBuilder vb = VarBuilder.of(new RandomSource(3, 0.5f), be);
        Linear l1 = new Linear(vb.pp("l1"), 6, 5, true), l2 = new Linear(vb.pp("l2"), 5, 3, true);
        Module root = new Module() {
            {
                child("l1", l1);
                child("l2", l2);
            }
        };
        LoraNetwork lora = LoraNetwork.create(root, "m", "t", new LoraConfig(2, 2f, List.of("l1", "l2")), 11);
        var params = lora.parameters();
        params.values().forEach(p -> assertEquals(be, p.backend()));
        AdamW opt = new AdamW(params, 0.1f, 0.9f, 0.999f, 1e-8f, 0.01f);
        Tensor x = new Generator(5).randn(be, 4, 6);
        for (int step = 0; step < 2; step++) {
            l2.forward(l1.forward(x).silu()).square().mean().backward();
            opt.step();
            opt.zeroGrad();
        }
        return l2.forward(l1.forward(x)).toFloatArray();
    }

    static double maxAbs(float[] a, float[] b) {
        double m = 0;
        for (int i = 0; i < a.length; i++) {
            m = Math.max(m, Math.abs(a[i] - b[i]));
        }
        return m;
    }
}
