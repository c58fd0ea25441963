package io.texforce.cuda;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import io.texforce.tensor.Backend;
import io.texforce.tensor.Checkpoint;
import io.texforce.tensor.Functional;
import io.texforce.tensor.Tensor;
import io.texforce.tensor.WeightDtype;
import io.texforce.tensor.cpu.CpuBackend;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;

import java.util.List;

/**
 * 16-bit activations through autograd on the CUDA host emulator: a U-Net-like resnet half (conv, group norm, SiLU,
 * conv) keeps its activations in bf16, float32 leaves get float32 gradients close to the CPU's, and activation
 * checkpointing over 16-bit activations gives the very gradients of the plain backward.
 */
class HalfActivationsTest {
    private static CudaBackend emulator;

    @BeforeAll
    static void loadEmulator() {
        emulator = TestEmulator.backendOrSkip();
    }


    /** Inputs and parameters of one run: x [2, 8, 6, 6] and gamma/beta trainable, conv weights frozen bf16. */
    private record Setup(Tensor x, Tensor w1, Tensor w2, Tensor gamma, Tensor beta, Tensor g) {
        static Setup on(Backend be) {
            String seed = "half activations";
            Tensor x = Tensor.of(be, ParityChecks.data(seed, 0, 2 * 8 * 36, -2f, 2f), 2, 8, 6, 6).requiresGrad(true);
            Tensor w1 = Tensor.of(be, ParityChecks.data(seed, 1, 8 * 8 * 9, -0.2f, 0.2f), 8, 8, 3, 3)
                    .to(WeightDtype.BF16);
            Tensor w2 = Tensor.of(be, ParityChecks.data(seed, 2, 8 * 8 * 9, -0.2f, 0.2f), 8, 8, 3, 3)
                    .to(WeightDtype.BF16);
            Tensor gamma = Tensor.of(be, ParityChecks.data(seed, 3, 8, 0.5f, 1.5f), 8).requiresGrad(true);
            Tensor beta = Tensor.of(be, ParityChecks.data(seed, 4, 8, -0.5f, 0.5f), 8).requiresGrad(true);
            Tensor g = Tensor.of(be, ParityChecks.data(seed, 5, 2 * 8 * 36, -1f, 1f), 2, 8, 6, 6);
            return new Setup(x, w1, w2, gamma, beta, g);
        }

        /** Group norm, SiLU and the second convolution: the part a checkpoint recomputes. */
        Tensor tail(Tensor h) {
            return Functional.conv2d(Functional.groupNorm(h, 4, gamma, beta, 1e-5f).silu(), w2, null, 1, 1);
        }
    }

    /** {y, dL/dx, dL/dgamma, dL/dbeta} with the tail checkpointed or not; y's format is checked by the caller. */
    private static Tensor[] run(Setup s, boolean checkpoint) {
        Tensor h = Functional.conv2d(s.x(), s.w1(), null, 1, 1);
        Tensor y = checkpoint
                ? Checkpoint.apply(in -> new Tensor[]{s.tail(in[0])}, List.of(s.gamma(), s.beta()), h)[0]
                : s.tail(h);
        y.mul(s.g()).sum().backward();
        return new Tensor[]{y, s.x().grad(), s.gamma().grad(), s.beta().grad()};
    }

    @Test
    void activationsStayBf16AndFloat32LeavesGetFloat32GradientsCloseToTheCpu() {
        try (var bf16 = emulator.activations(WeightDtype.BF16)) {
            compareWithTheCpu();
        }
        assertEquals(WeightDtype.FP32, emulator.activationDtype(), "closing the scope restores float32");
    }

    private static void compareWithTheCpu() {
        Setup s = Setup.on(emulator);
        Tensor h = Functional.conv2d(s.x(), s.w1(), null, 1, 1);
        assertEquals(WeightDtype.BF16, h.dtype(), "a convolution's result");
        assertEquals(WeightDtype.BF16, Functional.groupNorm(h, 4, s.gamma(), s.beta(), 1e-5f).silu().dtype(),
                "group norm and SiLU of a bf16 activation");
        Tensor[] dev = run(s, false);
        Tensor[] cpu = run(Setup.on(CpuBackend.INSTANCE), false);
        assertEquals(WeightDtype.BF16, dev[0].dtype());
        String[] what = {"y", "grad x", "grad gamma", "grad beta"};
        for (int i = 0; i < dev.length; i++) {
            if (i > 0) {
                assertEquals(WeightDtype.FP32, dev[i].dtype(), what[i] + " of a float32 leaf");
            }
            float[] a = dev[i].toFloatArray(), e = cpu[i].toFloatArray();
            double scale = 0, err = 0;
            for (int j = 0; j < e.length; j++) {
                scale = Math.max(scale, Math.abs(e[j]));
                err = Math.max(err, Math.abs(a[j] - e[j]));
            }
            System.out.printf("bf16 activations vs CPU fp32: %-10s max error %.3e of max |value| %.3e (%.2e)%n",
                    what[i], err, scale, err / scale);
            // A few bf16 roundings (2^-8 each) along a conv, a norm and a conv, relative to the largest value.
            assertTrue(err <= 3e-2 * scale, what[i] + ": " + err + " against values up to " + scale);
        }
    }

    @Test
    void aRegionIsTheCallingThreadsWhileTheBackendsFormatIsEveryThreads() throws Exception {
        Tensor x = Tensor.of(emulator, ParityChecks.data("region", 0, 2 * 8, -1f, 1f), 2, 8);
        Tensor w = Tensor.of(emulator, ParityChecks.data("region", 1, 8 * 3, -1f, 1f), 8, 3);
        java.util.concurrent.Callable<WeightDtype> elsewhere = () -> x.matmul(w).dtype();
        var pool = java.util.concurrent.Executors.newSingleThreadExecutor();
        try {
            try (var bf16 = emulator.activations(WeightDtype.BF16)) {
                assertEquals(WeightDtype.BF16, x.matmul(w).dtype(), "this thread's region");
                assertEquals(WeightDtype.FP32, pool.submit(elsewhere).get(), "another thread is outside it");
                try (var fp32 = emulator.activations(WeightDtype.FP32)) {
                    assertEquals(WeightDtype.FP32, x.matmul(w).dtype(), "a nested region");
                }
                assertEquals(WeightDtype.BF16, x.matmul(w).dtype(), "the outer region again");
            }
            emulator.setActivationDtype(WeightDtype.FP16);
            assertEquals(WeightDtype.FP16, pool.submit(elsewhere).get(), "the backend's format reaches every thread");
            try (var fp32 = emulator.activations(WeightDtype.FP32)) {
                assertEquals(WeightDtype.FP32, x.matmul(w).dtype(), "a region overrides it");
            }
        } finally {
            emulator.setActivationDtype(WeightDtype.FP32);
            pool.shutdown();
        }
        assertEquals(WeightDtype.FP32, x.matmul(w).dtype());
    }

    @Test
    void checkpointingBf16ActivationsGivesTheGradientsOfThePlainBackward() {
        Tensor[] plain, checkpointed;
        try (var bf16 = emulator.activations(WeightDtype.BF16)) {
            plain = run(Setup.on(emulator), false);
            checkpointed = run(Setup.on(emulator), true);
        }
        assertEquals(WeightDtype.BF16, checkpointed[0].dtype());
        for (int i = 0; i < plain.length; i++) {
            assertArrayEquals(plain[i].toFloatArray(), checkpointed[i].toFloatArray(), "output " + i);
        }
    }
}
