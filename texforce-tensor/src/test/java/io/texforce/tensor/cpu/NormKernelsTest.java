package io.texforce.tensor.cpu;

import static io.texforce.tensor.cpu.KernelChecks.assertClose;
import static io.texforce.tensor.cpu.KernelChecks.assertGradient;
import static io.texforce.tensor.cpu.KernelChecks.dot;
import static io.texforce.tensor.cpu.KernelChecks.random;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;

import java.util.function.ToDoubleFunction;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.CsvSource;

class NormKernelsTest {
    private static final double TOL = 2e-6;

    @ParameterizedTest(name = "n={0} c={1} spatial={2} groups={3} affine={4} offset={5}")
    @CsvSource({
            "2, 6, 37, 3, true, 0",
            "1, 32, 64, 32, true, 0",
            "3, 8, 5, 2, false, 0",
            "2, 12, 81, 4, true, 3",
            // SD scale: 10 channels x 4096 pixels per group, with a mean far from zero.
            "1, 320, 4096, 32, true, 5",
    })
    void groupNormMatchesReference(int n, int c, int spatial, int groups, boolean affine, float offset) {
        String tag = "groupNorm n=%d c=%d s=%d g=%d affine=%b offset=%s".formatted(n, c, spatial, groups, affine, offset);
        float[] x = random(1, n * c * spatial, 2f, offset);
        float[] gamma = affine ? random(2, c, 1f, 1f) : null, beta = affine ? random(3, c) : null;
        float[] gy = random(4, x.length);
        float eps = 1e-5f;
        float[] yRef = new float[x.length], meanRef = new float[n * groups], rstdRef = new float[n * groups];
        float[] y = new float[x.length], mean = new float[n * groups], rstd = new float[n * groups];
        NaiveKernels.groupNorm(x, n, c, spatial, groups, gamma, beta, eps, yRef, meanRef, rstdRef);
        NormKernels.groupNorm(x, n, c, spatial, groups, gamma, beta, eps, y, mean, rstd);
        assertClose(tag + " y", yRef, y, TOL);
        assertClose(tag + " mean", meanRef, mean, TOL);
        assertClose(tag + " rstd", rstdRef, rstd, TOL);

        float[] gxRef = new float[x.length], gGammaRef = new float[c], gBetaRef = new float[c];
        float[] gx = new float[x.length], gGamma = new float[c], gBeta = new float[c];
        NaiveKernels.groupNormBackward(gy, x, meanRef, rstdRef, gamma, n, c, spatial, groups, gxRef, gGammaRef, gBetaRef);
        NormKernels.groupNormBackward(gy, x, meanRef, rstdRef, gamma, n, c, spatial, groups, gx, gGamma, gBeta);
        assertClose(tag + " gx", gxRef, gx, TOL);
        assertClose(tag + " gGamma", gGammaRef, gGamma, TOL);
        assertClose(tag + " gBeta", gBetaRef, gBeta, TOL);
    }

    @ParameterizedTest(name = "rows={0} cols={1} affine={2}")
    @CsvSource({
            "7, 768, true",
            "5, 13, true",
            "33, 40, false",
            "1, 1, true",
            "77, 1280, true",
            "300, 200, true",
    })
    void layerNormMatchesReference(int rows, int cols, boolean affine) {
        String tag = "layerNorm rows=%d cols=%d affine=%b".formatted(rows, cols, affine);
        float[] x = random(5, rows * cols, 3f, 1f);
        float[] gamma = affine ? random(6, cols, 1f, 1f) : null, beta = affine ? random(7, cols) : null;
        float[] gy = random(8, x.length);
        float eps = 1e-5f;
        float[] yRef = new float[x.length], meanRef = new float[rows], rstdRef = new float[rows];
        float[] y = new float[x.length], mean = new float[rows], rstd = new float[rows];
        NaiveKernels.layerNorm(x, rows, cols, gamma, beta, eps, yRef, meanRef, rstdRef);
        NormKernels.layerNorm(x, rows, cols, gamma, beta, eps, y, mean, rstd);
        assertClose(tag + " y", yRef, y, TOL);
        assertClose(tag + " mean", meanRef, mean, TOL);
        assertClose(tag + " rstd", rstdRef, rstd, TOL);

        float[] gxRef = new float[x.length], gGammaRef = new float[cols], gBetaRef = new float[cols];
        float[] gx = new float[x.length], gGamma = new float[cols], gBeta = new float[cols];
        NaiveKernels.layerNormBackward(gy, x, meanRef, rstdRef, gamma, rows, cols, gxRef, gGammaRef, gBetaRef);
        NormKernels.layerNormBackward(gy, x, meanRef, rstdRef, gamma, rows, cols, gx, gGamma, gBeta);
        assertClose(tag + " gx", gxRef, gx, TOL);
        assertClose(tag + " gGamma", gGammaRef, gGamma, TOL);
        assertClose(tag + " gBeta", gBetaRef, gBeta, TOL);
    }

    @ParameterizedTest(name = "rows={0} cols={1}")
    @CsvSource({"5, 77", "3, 4096", "7, 3", "64, 64", "2, 1"})
    void softmaxMatchesReference(int rows, int cols) {
        String tag = "softmax rows=%d cols=%d".formatted(rows, cols);
        float[] x = random(9, rows * cols, 8f, 0f);
        // A masked row prefix as a causal mask produces it: -inf must come out as exactly 0.
        for (int i = 1; i < Math.min(cols, 4); i++) {
            x[i] = Float.NEGATIVE_INFINITY;
        }
        float[] gy = random(10, x.length);
        float[] yRef = new float[x.length], y = new float[x.length];
        NaiveKernels.softmax(x, rows, cols, yRef);
        NormKernels.softmax(x, rows, cols, y);
        assertClose(tag + " y", yRef, y, TOL);
        for (int i = 1; i < Math.min(cols, 4); i++) {
            assertEquals(0f, y[i], "masked probability " + i);
        }
        float[] gxRef = new float[x.length], gx = new float[x.length];
        NaiveKernels.softmaxBackward(gy, yRef, rows, cols, gxRef);
        NormKernels.softmaxBackward(gy, yRef, rows, cols, gx);
        assertClose(tag + " gx", gxRef, gx, TOL);
    }

    @Test
    void groupNormGradientsMatchFiniteDifferences() {
        int n = 2, c = 4, spatial = 3, groups = 2;
        float eps = 1e-5f;
        float[] x = random(31, n * c * spatial), gamma = random(32, c, 1f, 1f), beta = random(33, c);
        float[] gy = random(34, x.length);
        float[] y = new float[x.length], mean = new float[n * groups], rstd = new float[n * groups];
        NormKernels.groupNorm(x, n, c, spatial, groups, gamma, beta, eps, y, mean, rstd);
        float[] gx = new float[x.length], gGamma = new float[c], gBeta = new float[c];
        NormKernels.groupNormBackward(gy, x, mean, rstd, gamma, n, c, spatial, groups, gx, gGamma, gBeta);
        float[] gxRef = new float[x.length], gGammaRef = new float[c], gBetaRef = new float[c];
        NaiveKernels.groupNormBackward(gy, x, mean, rstd, gamma, n, c, spatial, groups, gxRef, gGammaRef, gBetaRef);

        float[] yy = new float[x.length], m = new float[n * groups], r = new float[n * groups];
        ToDoubleFunction<float[]> lossOfX = xs -> {
            NaiveKernels.groupNorm(xs, n, c, spatial, groups, gamma, beta, eps, yy, m, r);
            return dot(yy, gy);
        };
        ToDoubleFunction<float[]> lossOfGamma = gs -> {
            NaiveKernels.groupNorm(x, n, c, spatial, groups, gs, beta, eps, yy, m, r);
            return dot(yy, gy);
        };
        ToDoubleFunction<float[]> lossOfBeta = bs -> {
            NaiveKernels.groupNorm(x, n, c, spatial, groups, gamma, bs, eps, yy, m, r);
            return dot(yy, gy);
        };
        assertGradient("groupNorm reference gx", x, gxRef, lossOfX, 1e-2f, 2e-3);
        assertGradient("groupNorm fast gx", x, gx, lossOfX, 1e-2f, 2e-3);
        assertGradient("groupNorm reference gGamma", gamma, gGammaRef, lossOfGamma, 1e-2f, 2e-3);
        assertGradient("groupNorm fast gGamma", gamma, gGamma, lossOfGamma, 1e-2f, 2e-3);
        assertGradient("groupNorm reference gBeta", beta, gBetaRef, lossOfBeta, 1e-2f, 2e-3);
        assertGradient("groupNorm fast gBeta", beta, gBeta, lossOfBeta, 1e-2f, 2e-3);
    }

    @Test
    void layerNormGradientsMatchFiniteDifferences() {
        int rows = 3, cols = 11;
        float eps = 1e-5f;
        float[] x = random(41, rows * cols), gamma = random(42, cols, 1f, 1f), beta = random(43, cols);
        float[] gy = random(44, x.length);
        float[] y = new float[x.length], mean = new float[rows], rstd = new float[rows];
        NormKernels.layerNorm(x, rows, cols, gamma, beta, eps, y, mean, rstd);
        float[] gx = new float[x.length], gGamma = new float[cols], gBeta = new float[cols];
        NormKernels.layerNormBackward(gy, x, mean, rstd, gamma, rows, cols, gx, gGamma, gBeta);
        float[] gxRef = new float[x.length], gGammaRef = new float[cols], gBetaRef = new float[cols];
        NaiveKernels.layerNormBackward(gy, x, mean, rstd, gamma, rows, cols, gxRef, gGammaRef, gBetaRef);

        float[] yy = new float[x.length], m = new float[rows], r = new float[rows];
        ToDoubleFunction<float[]> lossOfX = xs -> {
            NaiveKernels.layerNorm(xs, rows, cols, gamma, beta, eps, yy, m, r);
            return dot(yy, gy);
        };
        ToDoubleFunction<float[]> lossOfGamma = gs -> {
            NaiveKernels.layerNorm(x, rows, cols, gs, beta, eps, yy, m, r);
            return dot(yy, gy);
        };
        assertGradient("layerNorm reference gx", x, gxRef, lossOfX, 1e-2f, 2e-3);
        assertGradient("layerNorm fast gx", x, gx, lossOfX, 1e-2f, 2e-3);
        assertGradient("layerNorm reference gGamma", gamma, gGammaRef, lossOfGamma, 1e-2f, 2e-3);
        assertGradient("layerNorm fast gGamma", gamma, gGamma, lossOfGamma, 1e-2f, 2e-3);
    }

    @Test
    void softmaxGradientMatchesFiniteDifferences() {
        int rows = 3, cols = 7;
        float[] x = random(51, rows * cols, 2f, 0f), gy = random(52, rows * cols);
        float[] y = new float[x.length];
        NormKernels.softmax(x, rows, cols, y);
        float[] gx = new float[x.length], gxRef = new float[x.length];
        NormKernels.softmaxBackward(gy, y, rows, cols, gx);
        NaiveKernels.softmaxBackward(gy, y, rows, cols, gxRef);
        float[] yy = new float[x.length];
        ToDoubleFunction<float[]> loss = xs -> {
            NaiveKernels.softmax(xs, rows, cols, yy);
            return dot(yy, gy);
        };
        assertGradient("softmax reference gx", x, gxRef, loss, 1e-2f, 2e-3);
        assertGradient("softmax fast gx", x, gx, loss, 1e-2f, 2e-3);
    }

    @Test
    void rejectsChannelsNotDivisibleByGroups() {
        var e = assertThrows(IllegalArgumentException.class, () -> NormKernels.groupNorm(new float[10], 1, 5, 2, 2,
                null, null, 1e-5f, new float[10], new float[2], new float[2]));
        assertEquals("groupNorm: 5 channels are not divisible into 2 groups", e.getMessage());
    }
}
