package io.texforce.cuda;

import static org.junit.jupiter.api.Assertions.assertEquals;

import io.texforce.tensor.Tensor;
import io.texforce.tensor.WeightDtype;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;

/**
 * The implicit-GEMM convolution is the kernel that runs when it is switched on, for float32, 16-bit weights and 16-bit
 * activations (its numbers are checked by the "conv2d implicit" parity checks), and im2col + cuBLAS when it is off.
 */
class ImplicitConvTest {
    private static CudaBackend emulator;

    @BeforeAll
    static void loadEmulator() {
        emulator = TestEmulator.backendOrSkip();
    }

    @AfterEach
    void off() {
        emulator.setConvAlgorithm(ConvAlgorithm.IM2COL_GEMM);
    }

    @Test
    void theSwitchPicksTheKernel() {
        KernelModule k = emulator.kernels();
        Tensor x = emulator.full(new int[]{1, 4, 6, 6}, 0.5f), w = emulator.full(new int[]{5, 4, 3, 3}, 0.25f);
        long implicit = k.launches("conv2d_implicit"), im2col = k.launches("im2col");
        emulator.conv2d(x, w, null, 1, 1);
        assertEquals(implicit, k.launches("conv2d_implicit"), "off by default");
        assertEquals(im2col + 1, k.launches("im2col"));
        emulator.setConvAlgorithm(ConvAlgorithm.IMPLICIT_GEMM);
        emulator.conv2d(x, w, null, 1, 1);
        assertEquals(implicit + 1, k.launches("conv2d_implicit"));
        long bf16 = k.launches("conv2d_implicit_bf16");
        emulator.conv2d(x, w.to(WeightDtype.BF16), null, 1, 1);
        assertEquals(bf16 + 1, k.launches("conv2d_implicit_bf16"));
        assertEquals(im2col + 1, k.launches("im2col"), "no columns written while it is on");
        // 16-bit activations: read in place and written in their format, still without columns.
        try (var scope = emulator.activations(WeightDtype.BF16)) {
            Tensor y = emulator.conv2d(x.to(WeightDtype.BF16), w, null, 1, 1);
            assertEquals(WeightDtype.BF16, y.dtype());
            assertEquals(bf16 + 2, k.launches("conv2d_implicit_bf16"), "fp32 weight rounded to the activations'");
        }
        assertEquals(im2col + 1, k.launches("im2col"));
    }
}
