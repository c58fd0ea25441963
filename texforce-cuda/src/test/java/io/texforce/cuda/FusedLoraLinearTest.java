package io.texforce.cuda;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertTrue;

import io.texforce.tensor.Backend;
import io.texforce.tensor.Tensor;
import io.texforce.tensor.WeightDtype;
import io.texforce.tensor.cpu.CpuBackend;
import io.texforce.tensor.nn.Linear;
import io.texforce.tensor.nn.LoraAdapter;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;

import java.util.List;

/**
 * {@code Linear} with one LoRA adapter through the fused kernel (switched on), on the CUDA host emulator, against
 * the CPU's composed matmuls: the output and the gradients of the input and both LoRA factors.
 */
class FusedLoraLinearTest {
    private static CudaBackend emulator;

    @BeforeAll
    static void loadEmulator() {
        emulator = TestEmulator.backendOrSkip();
    }

    @AfterEach
    void off() {
        emulator.setFusedLora(false);
    }

    /** {y, dL/dx, dL/dA, dL/dB} for L = sum(y * g) through a Linear [in -> out] with bias and a rank-r adapter. */
    private static List<float[]> run(Backend be, int rows, int in, int out, int r) {
        String seed = "fused lora " + rows + "x" + in + "x" + out + "r" + r;
        Tensor w = Tensor.of(be, ParityChecks.data(seed, 0, out * in, -0.1f, 0.1f), out, in);
        Tensor bias = Tensor.of(be, ParityChecks.data(seed, 1, out, -1f, 1f), out);
        Tensor down = Tensor.of(be, ParityChecks.data(seed, 2, r * in, -0.1f, 0.1f), r, in).requiresGrad(true);
        Tensor up = Tensor.of(be, ParityChecks.data(seed, 3, out * r, -0.1f, 0.1f), out, r).requiresGrad(true);
        Tensor x = Tensor.of(be, ParityChecks.data(seed, 4, 2 * rows * in, -2f, 2f), 2, rows, in).requiresGrad(true);
        Tensor g = Tensor.of(be, ParityChecks.data(seed, 5, 2 * rows * out, -1f, 1f), 2, rows, out);
        Linear linear = new Linear(w, bias);
        linear.lora().add(new LoraAdapter("a", down, up, 8f, 0.75f), "layer");
        Tensor y = linear.forward(x);
        y.mul(g).sum().backward();
        return List.of(y.toFloatArray(), x.grad().toFloatArray(), down.grad().toFloatArray(),
                up.grad().toFloatArray());
    }

    @Test
    void aLinearWithOneAdapterRunsTheFusedKernelAndMatchesTheCpu() {
        emulator.setFusedLora(true);
        String[] what = {"y", "grad x", "grad lora_A", "grad lora_B"};
        for (int[] s : new int[][]{{77, 96, 80, 4}, {130, 70, 65, 16}}) {
            long before = emulator.kernels().launches("lora_matmul");
            List<float[]> dev = run(emulator, s[0], s[1], s[2], s[3]), cpu = run(CpuBackend.INSTANCE, s[0], s[1],
                    s[2], s[3]);
            assertEquals(before + 2, emulator.kernels().launches("lora_matmul"), "forward and backward fused");
            for (int i = 0; i < what.length; i++) {
                double err = maxAbsDiff(dev.get(i), cpu.get(i));
                System.out.printf("fused LoRA Linear %dx%d->%d rank %d, %s: max abs error vs cpu %.3e%n", s[0], s[1],
                        s[2], s[3], what[i], err);
                assertTrue(err < 1e-4, what[i] + " error " + err);
            }
        }
    }

    private static double maxAbsDiff(float[] a, float[] b) {
        assertEquals(a.length, b.length);
        double m = 0;
        for (int i = 0; i < a.length; i++) m = Math.max(m, Math.abs((double) a[i] - b[i]));
        return m;
    }

    @Test
    void theFusedKernelIsOffByDefaultAndNeverTakesHalfWeightsHalfActivationsOrLargeRanks() {
        Tensor w = emulator.full(new int[]{8, 8}, 0.5f);
        assertFalse(emulator.fusesLora(w, 4), "off until a GPU benchmark turns it on");
        emulator.setFusedLora(true);
        assertTrue(emulator.fusesLora(w, 4));
        assertFalse(emulator.fusesLora(w, CudaBackend.LORA_MAX_RANK + 1));
        assertFalse(emulator.fusesLora(w.to(WeightDtype.BF16), 4));
        try (var bf16 = emulator.activations(WeightDtype.BF16)) {
            assertFalse(emulator.fusesLora(w, 4), "16-bit activations keep the GEMMs and their output format");
        }
        assertTrue(emulator.fusesLora(w, 4));
    }
}
