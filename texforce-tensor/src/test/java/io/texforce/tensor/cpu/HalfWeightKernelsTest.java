package io.texforce.tensor.cpu;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertNotNull;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import io.texforce.tensor.Functional;
import io.texforce.tensor.GradMode;
import io.texforce.tensor.Tensor;
import io.texforce.tensor.WeightDtype;
import java.util.ArrayList;
import java.util.List;
import java.util.SplittableRandom;
import java.util.stream.Stream;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.Arguments;
import org.junit.jupiter.params.provider.EnumSource;
import org.junit.jupiter.params.provider.MethodSource;

/**
 * Kernels reading 16-bit weights must give exactly what the float32 kernels give on the weights widened from 16
 * bits: widening is exact and the accumulation order is the same, so the results are compared bit for bit.
 */
class HalfWeightKernelsTest {
    /** Shapes hitting the unpacked path (tiny, single row, thin) and the blocked one (edge strips, K > KC). */
    private static final int[][] SHAPES = {
            {1, 1, 1}, {2, 100, 50}, {1, 3000, 200}, {100, 5, 60}, {17, 31, 13}, {33, 47, 129}, {150, 70, 270},
            {257, 260, 513}, {8, 2000, 300},
    };

    static Stream<Arguments> cases() {
        List<Arguments> out = new ArrayList<>();
        for (WeightDtype dtype : new WeightDtype[]{WeightDtype.BF16, WeightDtype.FP16}) {
            for (int[] s : SHAPES) {
                for (int t = 0; t < 8; t++) {
                    out.add(Arguments.of(dtype, s[0], s[1], s[2], (t & 1) != 0, (t & 2) != 0, (t & 4) != 0));
                }
            }
        }
        return out.stream();
    }

    private static float[] random(int n, SplittableRandom rnd) {
        float[] d = new float[n];
        for (int i = 0; i < n; i++) {
            d[i] = (float) (rnd.nextDouble() * 2 - 1);
        }
        return d;
    }

    @ParameterizedTest(name = "{0} {1}x{2}x{3} transA={4} transB={5} halfA={6}")
    @MethodSource("cases")
    void gemmWithA16BitOperandEqualsFloat32OnTheWidenedOperand(WeightDtype dtype, int m, int n, int k,
                                                               boolean transA, boolean transB, boolean halfA) {
        var rnd = new SplittableRandom(m * 131L + n * 17L + k);
        int off = 3, lda = (transA ? m : k) + 2, ldb = (transB ? k : n) + 1;
        float[] a = random(off + (transA ? k : m) * lda, rnd), b = random(off + (transB ? n : k) * ldb, rnd);
        HalfStorage half = HalfStorage.round(halfA ? a : b, dtype);
        float[] widened = half.widen();
        for (boolean accumulate : new boolean[]{false, true}) {
            float[] start = random(m * n, rnd);
            float[] expected = start.clone(), actual = start.clone();
            Gemm.sgemmBatched(1, transA, transB, m, n, k, halfA ? widened : a, off, lda, 0,
                    halfA ? b : widened, off, ldb, 0, expected, 0, n, 0, accumulate);
            Gemm.gemmBatched(1, transA, transB, m, n, k, halfA ? null : a, halfA ? half : null, off, lda, 0,
                    halfA ? b : null, halfA ? null : half, off, ldb, 0, actual, 0, n, 0, accumulate);
            assertArrayEquals(expected, actual, 0f, dtype + " gemm " + m + "x" + n + "x" + k);
        }
    }

    @ParameterizedTest
    @EnumSource(value = WeightDtype.class, names = {"BF16", "FP16"})
    void convolutionForwardAndInputGradientEqualFloat32OnTheRoundedWeight(WeightDtype dtype) {
        var rnd = new SplittableRandom(5);
        // 3x3 padded, strided, and 1x1 (pointwise GEMM) convolutions.
        int[][] geometries = {{2, 6, 9, 8, 7, 3, 1, 1}, {1, 5, 11, 9, 4, 3, 2, 1}, {2, 8, 6, 6, 12, 1, 1, 0}};
        double maxError = 0;
        for (int[] g : geometries) {
            Tensor x = Tensor.of(random(g[0] * g[1] * g[2] * g[3], rnd), g[0], g[1], g[2], g[3]).requiresGrad(true);
            Tensor w = Tensor.of(random(g[4] * g[1] * g[5] * g[5], rnd), g[4], g[1], g[5], g[5]);
            Tensor bias = Tensor.of(random(g[4], rnd), g[4]);
            Tensor wHalf = w.to(dtype);
            assertEquals(dtype, wHalf.dtype());
            Tensor wRounded = Tensor.of(wHalf.toFloatArray(), wHalf.shape());

            Tensor yHalf = Functional.conv2d(x, wHalf, bias, g[6], g[7]);
            Tensor yRef = Functional.conv2d(x, wRounded, bias, g[6], g[7]);
            assertArrayEquals(yRef.toFloatArray(), yHalf.toFloatArray(), 0f);
            Tensor gy = Tensor.of(random(yRef.numel(), rnd), yRef.shape());
            yHalf.backward(gy);
            float[] gxHalf = x.grad().toFloatArray();
            x.zeroGrad();
            yRef.backward(gy);
            assertArrayEquals(x.grad().toFloatArray(), gxHalf, 0f);
            x.zeroGrad();
            maxError = Math.max(maxError, maxAbsDiff(Functional.conv2d(x, w, bias, g[6], g[7]).toFloatArray(),
                    yHalf.toFloatArray()));
        }
        System.out.printf("conv2d with %s weights: bit-identical to fp32 on rounded weights; max |error| vs the"
                + " unrounded fp32 weights %.3g%n", dtype.cliName(), maxError);
    }

    @ParameterizedTest
    @EnumSource(value = WeightDtype.class, names = {"BF16", "FP16"})
    void linearPassesGradientsThroughAFrozenHalfWeight(WeightDtype dtype) {
        var rnd = new SplittableRandom(9);
        Tensor w = Tensor.of(random(48 * 40, rnd), 48, 40).to(dtype);
        Tensor wRounded = Tensor.of(w.toFloatArray(), 48, 40);
        for (int[] xs : new int[][]{{2, 7, 40}, {1, 40}, {300, 40}}) {
            Tensor x = Tensor.of(random(xs.length == 3 ? xs[0] * xs[1] * 40 : xs[0] * 40, rnd), xs).requiresGrad(true);
            Tensor y = Functional.linear(x, w, null);
            Tensor yRef = Functional.linear(x, wRounded, null);
            assertArrayEquals(yRef.toFloatArray(), y.toFloatArray(), 0f);
            y.sum().backward();
            float[] gx = x.grad().toFloatArray();
            x.zeroGrad();
            yRef.sum().backward();
            assertArrayEquals(x.grad().toFloatArray(), gx, 0f);
            assertFalse(w.requiresGrad());
            assertEquals(null, w.grad());
        }
    }

    @Test
    void aHalfTensorCannotBeTrained() {
        Tensor w = Tensor.of(new float[]{1, 2, 3, 4}, 2, 2).to(WeightDtype.BF16);
        var e = assertThrows(IllegalStateException.class, () -> w.requiresGrad(true));
        assertTrue(e.getMessage().contains("bf16") && e.getMessage().contains("frozen"), e.getMessage());
        Tensor trainable = Tensor.of(new float[]{1, 2}, 2).requiresGrad(true);
        assertThrows(IllegalStateException.class, () -> trainable.to(WeightDtype.FP16));
    }

    @ParameterizedTest
    @EnumSource(value = WeightDtype.class, names = {"BF16", "FP16"})
    void otherKernelsReadAHalfTensorThroughTheWideningPath(WeightDtype dtype) {
        var rnd = new SplittableRandom(3);
        Tensor h = Tensor.of(random(6 * 10, rnd), 6, 10).to(dtype);
        Tensor f = Tensor.of(h.toFloatArray(), 6, 10);
        Tensor other = Tensor.of(random(10, rnd), 10);
        assertArrayEquals(f.add(other).toFloatArray(), h.add(other).toFloatArray(), 0f);
        assertArrayEquals(f.transpose(0, 1).contiguous().toFloatArray(), h.transpose(0, 1).contiguous().toFloatArray(), 0f);
        assertArrayEquals(f.narrow(1, 2, 5).mul(other.narrow(0, 0, 5)).toFloatArray(),
                h.narrow(1, 2, 5).mul(other.narrow(0, 0, 5)).toFloatArray(), 0f);
        assertArrayEquals(f.softmax().toFloatArray(), h.softmax().toFloatArray(), 0f);
        assertArrayEquals(f.sum(1, false).toFloatArray(), h.sum(1, false).toFloatArray(), 0f);
        assertArrayEquals(f.silu().toFloatArray(), h.silu().toFloatArray(), 0f);
        assertArrayEquals(Tensor.where(f.gt(other), f, other).toFloatArray(),
                Tensor.where(h.gt(other), h, other).toFloatArray(), 0f);
        assertArrayEquals(Functional.embedding(f, new int[]{5, 0, 3}).toFloatArray(),
                Functional.embedding(h, new int[]{5, 0, 3}).toFloatArray(), 0f);
        assertArrayEquals(Functional.layerNorm(f, null, null, 1e-5f).toFloatArray(),
                Functional.layerNorm(h, null, null, 1e-5f).toFloatArray(), 0f);
        // A product of two 16-bit tensors widens one of them.
        assertArrayEquals(f.matmul(f.transpose(0, 1)).toFloatArray(), h.matmul(h.transpose(0, 1)).toFloatArray(), 0f);
        assertArrayEquals(f.toFloatArray(), h.copy().toFloatArray(), 0f);
        assertEquals(WeightDtype.FP32, h.copy().dtype());
    }

    @Test
    void writingIntoAHalfTensorIsAClearError() {
        Tensor h = Tensor.of(new float[]{1, 2, 3, 4}, 4).to(WeightDtype.BF16);
        var e = assertThrows(IllegalArgumentException.class, () -> h.copyFrom(Tensor.zeros(4)));
        assertTrue(e.getMessage().contains("bf16") && e.getMessage().contains("[4]"), e.getMessage());
    }

    @ParameterizedTest
    @EnumSource(value = WeightDtype.class, names = {"BF16", "FP16"})
    void addInPlaceRoundsEachSumOnceToNearestEven(WeightDtype dtype) {
        var rnd = new SplittableRandom(11);
        float[] w = random(5000, rnd), d = random(5000, rnd);
        Tensor h = Tensor.of(w, 5000).to(dtype);
        float[] before = h.toFloatArray();
        try (var g = GradMode.noGrad()) {
            h.addInPlace(Tensor.of(d, 5000), 0.01f);
        }
        assertEquals(dtype, h.dtype());
        float[] after = h.toFloatArray();
        for (int i = 0; i < w.length; i++) {
            assertEquals(dtype.round(before[i] + 0.01f * d[i]), after[i], 0f, "element " + i);
        }
    }

    @Test
    void storageReportsItsBytes() {
        Tensor h = Tensor.of(new float[12], 3, 4).to(WeightDtype.FP16);
        assertNotNull(h.storage());
        assertEquals(24, h.storage().bytes());
        assertEquals(48, Tensor.zeros(3, 4).storage().bytes());
    }

    private static double maxAbsDiff(float[] a, float[] b) {
        double m = 0;
        for (int i = 0; i < a.length; i++) {
            m = Math.max(m, Math.abs((double) a[i] - b[i]));
        }
        return m;
    }
}
