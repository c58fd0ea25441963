package io.texforce.tensor.cpu;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.util.ArrayList;
import java.util.List;
import java.util.SplittableRandom;
import java.util.stream.Stream;
import org.ejml.simple.SimpleMatrix;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.Arguments;
import org.junit.jupiter.params.provider.MethodSource;

class GemmTest {
    /** Sentinel written around and between the rows of C: any write outside the M x N window changes it. */
    private static final float GUARD = -12345f;

    /**
     * Shapes chosen to hit tiny, prime, thin, edge-tile, multi-block (K > KC, M > MC) and parallel cases, the latter
     * split by rows, by columns (8 x 2000) and, on the unpacked path, by columns of a single row (1 x 3000).
     */
    private static final int[][] SHAPES = {
            {1, 1, 1}, {17, 31, 13}, {2, 100, 50}, {100, 5, 60}, {5, 16, 7}, {6, 17, 300}, {64, 64, 64},
            {33, 47, 129}, {150, 70, 270}, {301, 33, 17}, {8, 2000, 300}, {257, 260, 513}, {1, 3000, 200},
            {1500, 7, 70},
    };

    static Stream<Arguments> cases() {
        List<Arguments> out = new ArrayList<>();
        for (int[] s : SHAPES) {
            for (int t = 0; t < 4; t++) {
                out.add(Arguments.of(s[0], s[1], s[2], (t & 1) != 0, (t & 2) != 0));
            }
        }
        return out.stream();
    }

    /** A stored operand with a leading offset and padded rows, so offsets and leading dimensions are exercised. */
    private record Stored(float[] data, int off, int ld) {
        static Stored random(int rows, int cols, SplittableRandom rnd) {
            int off = 3, ld = cols + 5;
            float[] d = new float[off + rows * ld + 2];
            for (int i = 0; i < d.length; i++) {
                d[i] = (float) (rnd.nextDouble() * 2 - 1);
            }
            return new Stored(d, off, ld);
        }
    }

    @ParameterizedTest(name = "{0}x{1}x{2} transA={3} transB={4}")
    @MethodSource("cases")
    void matchesDoubleReference(int m, int n, int k, boolean transA, boolean transB) {
        var rnd = new SplittableRandom(31L * m + 7L * n + k + (transA ? 1 : 0) + (transB ? 2 : 0));
        Stored a = transA ? Stored.random(k, m, rnd) : Stored.random(m, k, rnd);
        Stored b = transB ? Stored.random(n, k, rnd) : Stored.random(k, n, rnd);
        for (boolean accumulate : new boolean[] {false, true}) {
            int cOff = 2, ldc = n + 3;
            float[] c = new float[cOff + m * ldc + 4];
            java.util.Arrays.fill(c, GUARD);
            float[] initial = new float[m * n];
            for (int i = 0; i < m; i++) {
                for (int j = 0; j < n; j++) {
                    initial[i * n + j] = (float) (rnd.nextDouble() - 0.5);
                    c[cOff + i * ldc + j] = initial[i * n + j];
                }
            }
            Gemm.sgemm(transA, transB, m, n, k, a.data, a.off, a.ld, b.data, b.off, b.ld, c, cOff, ldc, accumulate);

            double worst = 0;
            for (int i = 0; i < m; i++) {
                for (int j = 0; j < n; j++) {
                    double ref = accumulate ? initial[i * n + j] : 0, abs = accumulate ? Math.abs(ref) : 0;
                    for (int p = 0; p < k; p++) {
                        double prod = (double) opA(a, transA, i, p) * opB(b, transB, p, j);
                        ref += prod;
                        abs += Math.abs(prod);
                    }
                    double err = Math.abs(c[cOff + i * ldc + j] - ref) / Math.max(abs, 1e-30);
                    worst = Math.max(worst, err);
                }
            }
            System.out.printf("sgemm %dx%dx%d tA=%b tB=%b acc=%b: max error / sum|a*b| = %.2e%n",
                    m, n, k, transA, transB, accumulate, worst);
            assertTrue(worst <= 1e-5 * Math.sqrt(k), "relative error " + worst + " too large");
            assertGuardsIntact(c, cOff, ldc, m, n);
        }
    }

    @ParameterizedTest(name = "{0}x{1}x{2} transA={3} transB={4}")
    @MethodSource("cases")
    void matchesEjml(int m, int n, int k, boolean transA, boolean transB) {
        var rnd = new SplittableRandom(1000L + m * 13L + n * 17L + k);
        float[] a = random(m * k, rnd), b = random(k * n, rnd);
        float[] c = new float[m * n];
        Gemm.sgemm(transA, transB, m, n, k, a, 0, transA ? m : k, b, 0, transB ? k : n, c, 0, n, false);

        SimpleMatrix ea = matrix(transA ? k : m, transA ? m : k, a), eb = matrix(transB ? n : k, transB ? k : n, b);
        SimpleMatrix expected = (transA ? ea.transpose() : ea).mult(transB ? eb.transpose() : eb);
        double worst = 0, scale = Math.sqrt(k) / 3; // typical |entry| of a sum of k products of U(-1,1) values
        for (int i = 0; i < m; i++) {
            for (int j = 0; j < n; j++) {
                worst = Math.max(worst, Math.abs(c[i * n + j] - expected.get(i, j)) / Math.max(scale, 1));
            }
        }
        System.out.printf("sgemm vs EJML %dx%dx%d tA=%b tB=%b: max error / sqrt(k)/3 = %.2e%n",
                m, n, k, transA, transB, worst);
        assertTrue(worst <= 1e-5 * Math.sqrt(k), "error vs EJML " + worst + " too large");
    }

    @Test
    void emptyInnerDimensionZeroesOrKeepsC() {
        float[] c = {1, 2, 3, 4, 5, 6};
        Gemm.sgemm(false, false, 2, 3, 0, new float[0], 0, 0, new float[0], 0, 3, c, 0, 3, true);
        assertArrayEquals(new float[] {1, 2, 3, 4, 5, 6}, c);
        Gemm.sgemm(false, false, 2, 3, 0, new float[0], 0, 0, new float[0], 0, 3, c, 0, 3, false);
        assertArrayEquals(new float[6], c);
    }

    @Test
    void overwriteIgnoresPreviousContentsOfC() {
        int m = 40, n = 40, k = 40;
        var rnd = new SplittableRandom(5);
        float[] a = random(m * k, rnd), b = random(k * n, rnd);
        float[] c1 = new float[m * n], c2 = new float[m * n];
        java.util.Arrays.fill(c2, Float.NaN);
        Gemm.sgemm(false, false, m, n, k, a, 0, k, b, 0, n, c1, 0, n, false);
        Gemm.sgemm(false, false, m, n, k, a, 0, k, b, 0, n, c2, 0, n, false);
        assertArrayEquals(c1, c2);
    }

    @Test
    void rejectsLeadingDimensionShorterThanRow() {
        var e = assertThrows(IllegalArgumentException.class,
                () -> Gemm.sgemm(false, false, 4, 4, 8, new float[32], 0, 4, new float[32], 0, 4, new float[16], 0, 4,
                        false));
        assertTrue(e.getMessage().contains("lda=4"), e.getMessage());
    }

    /** 16 attention heads of 77 x 77 x 64 (Q K^T), the batch-parallel path; each head checked on its own. */
    @Test
    void batchedMatchesIndependentProducts() {
        int batch = 16, m = 77, n = 77, k = 64;
        var rnd = new SplittableRandom(11);
        float[] q = random(batch * m * k, rnd), kk = random(batch * n * k, rnd);
        float[] c = new float[batch * m * n];
        Gemm.sgemmBatched(batch, false, true, m, n, k, q, 0, k, m * k, kk, 0, k, n * k, c, 0, n, m * n, false);
        float[] one = new float[m * n];
        for (int h = 0; h < batch; h++) {
            Gemm.sgemm(false, true, m, n, k, q, h * m * k, k, kk, h * n * k, k, one, 0, n, false);
            for (int i = 0; i < m * n; i++) {
                assertEquals(one[i], c[h * m * n + i], 0f, "head " + h + " element " + i);
            }
        }
    }

    /** A weight shared by stride 0 across the batch, as in a linear layer applied to every sample. */
    @Test
    void batchedSharedOperand() {
        int batch = 5, m = 30, n = 20, k = 24;
        var rnd = new SplittableRandom(12);
        float[] x = random(batch * m * k, rnd), w = random(n * k, rnd);
        float[] c = new float[batch * m * n];
        Gemm.sgemmBatched(batch, false, true, m, n, k, x, 0, k, m * k, w, 0, k, 0, c, 0, n, m * n, false);
        float[] all = new float[batch * m * n];
        Gemm.sgemm(false, true, batch * m, n, k, x, 0, k, w, 0, k, all, 0, n, false);
        double worst = maxAbsDiff(c, all);
        System.out.printf("batched shared weight vs one tall product: max abs diff %.2e%n", worst);
        assertTrue(worst <= 1e-5, "max abs diff " + worst);
    }

    /** C stride 0 with accumulate sums every product into one C, as a weight gradient over a batch does. */
    @Test
    void batchedSharedOutputAccumulates() {
        int batch = 6, m = 12, n = 10, k = 9;
        var rnd = new SplittableRandom(13);
        float[] a = random(batch * m * k, rnd), b = random(batch * k * n, rnd);
        float[] c = new float[m * n];
        Gemm.sgemmBatched(batch, false, false, m, n, k, a, 0, k, m * k, b, 0, n, k * n, c, 0, n, 0, true);
        double worst = 0;
        for (int i = 0; i < m; i++) {
            for (int j = 0; j < n; j++) {
                double ref = 0;
                for (int h = 0; h < batch; h++) {
                    for (int p = 0; p < k; p++) {
                        ref += (double) a[h * m * k + i * k + p] * b[h * k * n + p * n + j];
                    }
                }
                worst = Math.max(worst, Math.abs(c[i * n + j] - ref));
            }
        }
        System.out.printf("batched sum into shared C: max abs error %.2e%n", worst);
        assertTrue(worst <= 1e-5, "max abs error " + worst);
    }

    private static float opA(Stored a, boolean transA, int i, int p) {
        return transA ? a.data[a.off + p * a.ld + i] : a.data[a.off + i * a.ld + p];
    }

    private static float opB(Stored b, boolean transB, int p, int j) {
        return transB ? b.data[b.off + j * b.ld + p] : b.data[b.off + p * b.ld + j];
    }

    private static void assertGuardsIntact(float[] c, int cOff, int ldc, int m, int n) {
        for (int idx = 0; idx < c.length; idx++) {
            int rel = idx - cOff;
            boolean inside = rel >= 0 && rel / ldc < m && rel % ldc < n;
            if (!inside) {
                assertEquals(GUARD, c[idx], 0f, "write outside C at index " + idx);
            }
        }
    }

    private static SimpleMatrix matrix(int rows, int cols, float[] data) {
        double[] d = new double[rows * cols];
        for (int i = 0; i < d.length; i++) {
            d[i] = data[i];
        }
        return new SimpleMatrix(rows, cols, true, d);
    }

    private static float[] random(int size, SplittableRandom rnd) {
        float[] x = new float[size];
        for (int i = 0; i < size; i++) {
            x[i] = (float) (rnd.nextDouble() * 2 - 1);
        }
        return x;
    }

    private static double maxAbsDiff(float[] x, float[] y) {
        double worst = 0;
        for (int i = 0; i < x.length; i++) {
            worst = Math.max(worst, Math.abs(x[i] - y[i]));
        }
        return worst;
    }
}
