package io.texforce.cuda;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertSame;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import io.texforce.tensor.Tensor;
import io.texforce.tensor.WeightDtype;
import io.texforce.tensor.cpu.CpuBackend;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.DynamicTest;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.TestFactory;

import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.stream.Stream;

/**
 * Convolutions on cuDNN ({@link ConvAlgorithm#CUDNN}) through JavaCPP's bindings, on the CUDA host emulator's
 * emulated cuDNN (native/emu/cudnn.cpp, which checks descriptors, data types, output shapes, workspaces and that
 * every buffer lies in one device allocation): every convolution parity check against the CPU, and which cases go
 * to cuDNN. On a GPU, {@code gpu-selftest cudnn} runs the same checks on NVIDIA's cuDNN.
 */
class CudnnTest {
    private static CudaBackend emulator;

    @BeforeAll
    static void loadEmulator() {
        emulator = TestEmulator.backendOrSkip();
    }

    @AfterEach
    void restore() {
        emulator.setConvAlgorithm(ConvAlgorithm.IM2COL_GEMM);
    }

    @TestFactory
    Stream<DynamicTest> convolutionsOnCudnnMatchTheCpu() {
        var checks = ParityChecks.cudnn();
        assertTrue(checks.size() >= 14, "the convolution checks of every format: " + checks.size());
        return checks.stream().map(check -> DynamicTest.dynamicTest(check.name(), () -> {
            ParityCheck.Result r = check.run(CpuBackend.INSTANCE, emulator);
            System.out.printf("emulator %-56s max error %.3e (tolerance %.1e)%n", r.name(), r.maxError(),
                    r.tolerance());
            assertTrue(r.passed(), () -> r.name() + ": max error " + r.maxError() + " exceeds " + r.tolerance());
        }));
    }

    @Test
    void reportsTheEmulatedVersion() {
        assertEquals("9.19.0", emulator.cudnnVersion());
    }

    @Test
    void cudnnTakesTheFormatsItCanWriteAndIm2colTheRest() {
        KernelModule k = emulator.kernels();
        Tensor x = emulator.full(new int[]{2, 4, 6, 6}, 0.5f), w = emulator.full(new int[]{5, 4, 3, 3}, 0.25f);
        Tensor gy = emulator.full(new int[]{2, 5, 6, 6}, 1f);
        emulator.setConvAlgorithm(ConvAlgorithm.CUDNN);
        long im2col = k.launches("im2col"), col2im = k.launches("col2im");
        Tensor y = emulator.conv2d(x, w, null, 1, 1);
        emulator.conv2dBackwardInput(gy, w, x.shape(), 1, 1);
        emulator.conv2dBackwardWeight(gy, x, w.shape(), 1, 1, false);
        assertEquals(im2col, k.launches("im2col"), "float32 forward and filter gradient on cuDNN");
        assertEquals(col2im, k.launches("col2im"), "float32 input gradient on cuDNN");
        // Centre pixel: 4 channels x 9 taps x 0.5 x 0.25.
        assertEquals(4.5f, y.select(0, 1).select(0, 3).select(0, 3).select(0, 3).item(), 0f);

        // bf16 weights under float32 activations: cuDNN cannot write float32 from bf16 data, so im2col runs.
        emulator.conv2d(x, w.to(WeightDtype.BF16), null, 1, 1);
        assertEquals(im2col + 1, k.launches("im2col"));
        // Both in bf16: cuDNN, with a bf16 result.
        try (var bf16 = emulator.activations(WeightDtype.BF16)) {
            Tensor yh = emulator.conv2d(x.to(WeightDtype.BF16), w.to(WeightDtype.BF16), null, 1, 1);
            assertEquals(WeightDtype.BF16, yh.dtype());
            assertEquals(im2col + 1, k.launches("im2col"));
            // The filter gradient of bf16 data must be float32: im2col.
            Tensor[] gw = emulator.conv2dBackwardWeight(gy.to(WeightDtype.BF16), x.to(WeightDtype.BF16),
                    w.shape(), 1, 1, false);
            assertEquals(WeightDtype.FP32, gw[0].dtype());
            assertEquals(im2col + 2, k.launches("im2col"));
        }
    }

    @Test
    void tf32ReachesCudnnAsItsDefaultMathAndStrictFloat32AsFma() {
        // The emulated cuDNN rounds float32 inputs to TF32 under CUDNN_DEFAULT_MATH, as a GPU may, and not under
        // CUDNN_FMA_MATH: with --tf32 the result is the CPU's on TF32-rounded inputs, without it the CPU's own.
        Tensor x = ParityChecks.input(emulator, "tf32 conv", 0, 2, 16, 9, 9);
        Tensor w = ParityChecks.input(emulator, "tf32 conv", 1, -0.5f, 0.5f, 8, 16, 3, 3);
        Tensor cx = ParityChecks.input(CpuBackend.INSTANCE, "tf32 conv", 0, 2, 16, 9, 9);
        Tensor cw = ParityChecks.input(CpuBackend.INSTANCE, "tf32 conv", 1, -0.5f, 0.5f, 8, 16, 3, 3);
        float[] exact = CpuBackend.INSTANCE.conv2d(cx, cw, null, 1, 1).toFloatArray();
        float[] rounded = CpuBackend.INSTANCE.conv2d(ParityChecks.toTf32(CpuBackend.INSTANCE, cx),
                ParityChecks.toTf32(CpuBackend.INSTANCE, cw), null, 1, 1).toFloatArray();
        emulator.setConvAlgorithm(ConvAlgorithm.CUDNN);
        float[] strict = emulator.toHost(emulator.conv2d(x, w, null, 1, 1));
        emulator.setTf32(true);
        float[] tf32;
        try {
            tf32 = emulator.toHost(emulator.conv2d(x, w, null, 1, 1));
        } finally {
            emulator.setTf32(false);
        }
        double strictErr = maxDiff(strict, exact), tf32Err = maxDiff(tf32, rounded), gap = maxDiff(rounded, exact);
        System.out.printf("cudnn conv2d strict fp32 vs cpu %.3e, tf32 vs cpu on tf32 inputs %.3e (tf32 moves it by "
                + "%.3e)%n", strictErr, tf32Err, gap);
        assertTrue(gap > 1e-3, "the inputs must be ones TF32 rounding changes: " + gap);
        assertTrue(strictErr < 1e-5 && tf32Err < 1e-5, strictErr + " / " + tf32Err);
    }

    private static double maxDiff(float[] a, float[] b) {
        double m = 0;
        for (int i = 0; i < a.length; i++) m = Math.max(m, Math.abs(a[i] - b[i]));
        return m;
    }

    @Test
    void aViewThatStartsInsideItsStorageIsAlignedForCudnn() {
        // x is a contiguous view one element into its storage: 4 bytes past a 16-byte boundary, which the emulated
        // cuDNN refuses (as some real algorithms would); the backend copies such operands first.
        int n = 2 * 3 * 5 * 5;
        float[] data = ParityChecks.data("misaligned", 0, n + 1, -1f, 1f);
        Tensor storage = Tensor.of(emulator, data, n + 1), cpuStorage = Tensor.of(CpuBackend.INSTANCE, data, n + 1);
        Tensor x = storage.narrow(0, 1, n).reshape(2, 3, 5, 5), cpuX = cpuStorage.narrow(0, 1, n).reshape(2, 3, 5, 5);
        assertTrue(x.isContiguous() && x.offset() == 1);
        float[] w = ParityChecks.data("misaligned", 1, 4 * 3 * 9, -1f, 1f);
        emulator.setConvAlgorithm(ConvAlgorithm.CUDNN);
        Tensor y = emulator.conv2d(x, Tensor.of(emulator, w, 4, 3, 3, 3), null, 1, 1);
        Tensor expected = CpuBackend.INSTANCE.conv2d(cpuX, Tensor.of(CpuBackend.INSTANCE, w, 4, 3, 3, 3), null, 1, 1);
        float[] a = emulator.toHost(y), b = expected.toFloatArray();
        double err = 0;
        for (int i = 0; i < a.length; i++) err = Math.max(err, Math.abs(a[i] - b[i]));
        System.out.printf("cudnn conv2d of a view at offset 1: max error %.3e%n", err);
        assertTrue(err < 1e-5, "max error " + err);
    }

    @Test
    void theEmulatedCudnnRefusesABufferTooSmallOrAMissingWorkspace() {
        Cudnn.Conv conv = emulator.cudnn().conv(new int[]{1, 2, 16, 16}, new int[]{3, 2, 3, 3}, 1, 1,
                WeightDtype.FP32, false);
        Tensor x = emulator.full(new int[]{1, 2, 16, 16}, 1f), w = emulator.full(new int[]{3, 2, 3, 3}, 1f);
        // y needs 3 KiB; the allocator rounds a 1-element tensor up, but not that far.
        Tensor small = emulator.full(new int[]{1}, 0f), work = emulator.full(new int[]{1024}, 0f);
        // The emulation asks for 256 bytes + 4 per filter tap (c * kh * kw), so a size read wrong would show.
        assertEquals(256 + 2 * 9 * 4, conv.forwardWorkspace());
        CudaException e = assertThrows(CudaException.class, () -> conv.forward(CudaBackend.address(x),
                CudaBackend.address(w), CudaBackend.address(small), CudaBackend.address(work)));
        assertTrue(e.getMessage().contains("cudnnConvolutionForward failed with CUDNN_STATUS_BAD_PARAM"),
                e.getMessage());
        Tensor y = emulator.full(new int[]{1, 3, 16, 16}, 0f);
        e = assertThrows(CudaException.class, () -> conv.forward(CudaBackend.address(x), CudaBackend.address(w),
                CudaBackend.address(y), 0));
        assertTrue(e.getMessage().contains("CUDNN_STATUS_BAD_PARAM_NULL_POINTER"), e.getMessage());
        conv.forward(CudaBackend.address(x), CudaBackend.address(w), CudaBackend.address(y),
                CudaBackend.address(work));
        assertEquals(8f, emulator.toHost(y)[0], 0f);  // corner: 2 channels x 4 taps in bounds
    }

    @Test
    void withoutItsLibrariesCudnnIsRefusedWithTheReasonAndTheAlgorithmStays() throws IOException {
        Path dir = Files.createTempDirectory("emu-without-cudnn");
        Path copy = dir.resolve("libtexforce-cuda-emu.so");
        Files.copy(TestEmulator.libraryOrSkip(), copy);
        copy.toFile().deleteOnExit();
        dir.toFile().deleteOnExit();
        CudaBackend bare = CudaBackend.on(Driver.loadEmulator(copy));
        CudaUnavailableException e = assertThrows(CudaUnavailableException.class,
                () -> bare.setConvAlgorithm(ConvAlgorithm.CUDNN));
        assertTrue(e.getMessage().startsWith("the emulated cuDNN under " + dir.resolve("cudnn") + " did not load"),
                e.getMessage());
        assertEquals(ConvAlgorithm.IM2COL_GEMM, bare.convAlgorithm());
        assertSame(e, assertThrows(CudaUnavailableException.class, bare::cudnnVersion), "the failure is kept");
    }

    @Test
    void theSelfTestRunsTheCudnnGroup() {
        String before = System.getProperty("texforce.cuda.emulator");
        System.setProperty("texforce.cuda.emulator", TestEmulator.libraryOrSkip().toString());
        try {
            assertEquals(0, GpuSelfTest.run("--emulator", "cudnn conv2d 3x3"));
        } finally {
            if (before == null) System.clearProperty("texforce.cuda.emulator");
            else System.setProperty("texforce.cuda.emulator", before);
        }
    }

    @Test
    void anUnknownAlgorithmNameIsRefusedWithTheChoices() {
        IllegalArgumentException e = assertThrows(IllegalArgumentException.class, () -> ConvAlgorithm.parse("fft"));
        assertEquals("unknown convolution algorithm 'fft'; expected one of [im2col, implicit, cudnn]",
                e.getMessage());
        assertEquals(ConvAlgorithm.CUDNN, ConvAlgorithm.parse(" CuDNN "));
    }
}
