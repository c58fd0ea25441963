package io.texforce.tensor.cpu;

import static io.texforce.tensor.cpu.KernelChecks.assertClose;
import static io.texforce.tensor.cpu.KernelChecks.assertGradient;
import static io.texforce.tensor.cpu.KernelChecks.dot;
import static io.texforce.tensor.cpu.KernelChecks.random;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import org.junit.jupiter.api.Test;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.CsvSource;

class Conv2dKernelTest {
    private static final double TOL = 2e-6;

    @ParameterizedTest(name = "n={0} c={1} {2}x{3} o={4} k={5}x{6} s={7} p={8}")
    @CsvSource({
            // n, c, h, w, o, kh, kw, stride, pad, bias
            "1, 3, 5, 7, 4, 3, 3, 1, 1, true",
            "2, 5, 9, 8, 6, 3, 3, 2, 1, true",
            "3, 4, 6, 6, 7, 1, 1, 1, 0, true",
            "2, 3, 7, 5, 4, 1, 1, 2, 0, false",
            "1, 2, 4, 4, 3, 3, 3, 1, 0, false",
            "2, 6, 11, 9, 5, 3, 3, 2, 0, true",
            "1, 4, 3, 3, 2, 3, 3, 2, 1, true",
            "2, 3, 6, 5, 2, 2, 3, 2, 1, true",
            "4, 9, 10, 10, 16, 3, 3, 1, 1, true",
            "1, 1, 1, 1, 1, 1, 1, 1, 0, true",
            "0, 3, 5, 5, 4, 3, 3, 1, 1, true",
    })
    void matchesReferenceOnAllPasses(int n, int c, int h, int w, int o, int kh, int kw, int stride, int pad,
                                     boolean withBias) {
        checkAgainstReference(n, c, h, w, o, kh, kw, stride, pad, withBias);
    }

    /** Inputs whose im2col exceeds the column budget, so they are processed in bands of output rows. */
    @ParameterizedTest(name = "banded stride {0}")
    @CsvSource({"1, 86, 1", "2, 171, 1", "1, 90, 2"})
    void matchesReferenceWhenProcessedInRowBands(int stride, int size, int n) {
        int c = 64, o = 4;
        int out = Conv2dKernel.outSize(size, 3, stride, 1);
        assertTrue((long) c * 9 * out * out > Conv2dKernel.COLUMN_BUDGET, "shape must force banding");
        checkAgainstReference(n, c, size, size, o, 3, 3, stride, 1, true);
    }

    private static void checkAgainstReference(int n, int c, int h, int w, int o, int kh, int kw, int stride,
                                              int pad, boolean withBias) {
        String tag = "conv n=%d c=%d %dx%d o=%d k=%dx%d s=%d p=%d".formatted(n, c, h, w, o, kh, kw, stride, pad);
        int oh = Conv2dKernel.outSize(h, kh, stride, pad), ow = Conv2dKernel.outSize(w, kw, stride, pad);
        float[] x = random(1, n * c * h * w);
        float[] wt = random(2, o * c * kh * kw);
        float[] bias = withBias ? random(3, o) : null;
        float[] gy = random(4, n * o * oh * ow);

        float[] yRef = new float[n * o * oh * ow], y = new float[yRef.length];
        NaiveKernels.conv2dForward(x, n, c, h, w, wt, o, kh, kw, bias, stride, pad, pad, yRef);
        Conv2dKernel.forward(x, n, c, h, w, wt, o, kh, kw, bias, stride, pad, pad, y);
        assertClose(tag + " y", yRef, y, TOL * Math.sqrt(c * kh * kw));

        float[] gxRef = new float[x.length], gx = new float[x.length];
        java.util.Arrays.fill(gx, Float.NaN);
        NaiveKernels.conv2dBackwardInput(gy, wt, n, c, h, w, o, kh, kw, stride, pad, pad, gxRef);
        Conv2dKernel.backwardInput(gy, wt, n, c, h, w, o, kh, kw, stride, pad, pad, gx);
        assertClose(tag + " gx", gxRef, gx, TOL * Math.sqrt(o * kh * kw));

        float[] gwRef = new float[wt.length], gw = new float[wt.length];
        float[] gbRef = new float[o], gb = new float[o];
        java.util.Arrays.fill(gw, Float.NaN);
        NaiveKernels.conv2dBackwardWeight(gy, x, n, c, h, w, o, kh, kw, stride, pad, pad, gwRef, gbRef);
        Conv2dKernel.backwardWeight(gy, x, n, c, h, w, o, kh, kw, stride, pad, pad, gw, withBias ? gb : null);
        assertClose(tag + " gw", gwRef, gw, TOL * Math.sqrt(n * oh * ow));
        if (withBias) {
            assertClose(tag + " gb", gbRef, gb, TOL * Math.sqrt(n * oh * ow));
        }
    }

    @Test
    void gradientsMatchFiniteDifferences() {
        int n = 2, c = 2, h = 5, w = 4, o = 3, k = 3, stride = 2, pad = 1;
        int oh = Conv2dKernel.outSize(h, k, stride, pad), ow = Conv2dKernel.outSize(w, k, stride, pad);
        float[] x = random(11, n * c * h * w);
        float[] wt = random(12, o * c * k * k);
        float[] bias = random(13, o);
        float[] gy = random(14, n * o * oh * ow);
        float[] y = new float[gy.length];

        float[] gx = new float[x.length], gxRef = new float[x.length];
        Conv2dKernel.backwardInput(gy, wt, n, c, h, w, o, k, k, stride, pad, pad, gx);
        NaiveKernels.conv2dBackwardInput(gy, wt, n, c, h, w, o, k, k, stride, pad, pad, gxRef);
        float[] gw = new float[wt.length], gb = new float[o], gwRef = new float[wt.length], gbRef = new float[o];
        Conv2dKernel.backwardWeight(gy, x, n, c, h, w, o, k, k, stride, pad, pad, gw, gb);
        NaiveKernels.conv2dBackwardWeight(gy, x, n, c, h, w, o, k, k, stride, pad, pad, gwRef, gbRef);

        var lossOfX = (java.util.function.ToDoubleFunction<float[]>) xs -> {
            NaiveKernels.conv2dForward(xs, n, c, h, w, wt, o, k, k, bias, stride, pad, pad, y);
            return dot(y, gy);
        };
        var lossOfW = (java.util.function.ToDoubleFunction<float[]>) ws -> {
            NaiveKernels.conv2dForward(x, n, c, h, w, ws, o, k, k, bias, stride, pad, pad, y);
            return dot(y, gy);
        };
        var lossOfB = (java.util.function.ToDoubleFunction<float[]>) bs -> {
            NaiveKernels.conv2dForward(x, n, c, h, w, wt, o, k, k, bs, stride, pad, pad, y);
            return dot(y, gy);
        };
        assertGradient("conv reference gx", x, gxRef, lossOfX, 1e-2f, 1e-3);
        assertGradient("conv fast gx", x, gx, lossOfX, 1e-2f, 1e-3);
        assertGradient("conv reference gw", wt, gwRef, lossOfW, 1e-2f, 1e-3);
        assertGradient("conv fast gw", wt, gw, lossOfW, 1e-2f, 1e-3);
        assertGradient("conv reference gb", bias, gbRef, lossOfB, 1e-2f, 1e-3);
        assertGradient("conv fast gb", bias, gb, lossOfB, 1e-2f, 1e-3);
    }

    @Test
    void rejectsBuffersTooSmallForTheShape() {
        var e = assertThrows(IllegalArgumentException.class, () -> Conv2dKernel.forward(new float[10], 1, 1, 4, 4,
                new float[9], 1, 3, 3, null, 1, 1, 1, new float[16]));
        assertTrue(e.getMessage().contains("x has 10 floats"), e.getMessage());
    }
}
