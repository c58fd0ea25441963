package io.texforce.tensor.random;

import org.junit.jupiter.api.Test;

import java.util.Arrays;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

class PhiloxTest {
    private static final long SEED = 0x5EEDL;

    /** Known-answer vectors of philox4x32-10 from Random123's kat_vectors. */
    @Test
    void matchesRandom123KnownAnswers() {
        assertArrayEquals(new int[] {0x6627e8d5, 0xe169c58d, 0xbc57ac4c, 0x9b00dbd8},
                Philox.block(new int[] {0, 0, 0, 0}, new int[] {0, 0}));
        assertArrayEquals(new int[] {0x408f276d, 0x41c83b0e, 0xa20bc7c6, 0x6d5451fd},
                Philox.block(new int[] {-1, -1, -1, -1}, new int[] {-1, -1}));
        assertArrayEquals(new int[] {0xd16cfe09, 0x94fdcceb, 0x5001e420, 0x24126ea1},
                Philox.block(new int[] {0x243f6a88, 0x85a308d3, 0x13198a2e, 0x03707344},
                        new int[] {0xa4093822, 0x299f31d0}));
    }

    @Test
    void uniformIsTheDocumentedMappingOfTheBlockWords() {
        float[] u = new float[8];
        Philox.uniform(0, 0, u, 0, 8);
        int[] block0 = Philox.block(new int[] {0, 0, 0, 0}, new int[] {0, 0});
        int[] block1 = Philox.block(new int[] {1, 0, 0, 0}, new int[] {0, 0});
        for (int i = 0; i < 4; i++) {
            assertEquals((block0[i] >>> 8) * 0x1p-24f, u[i]);
            assertEquals((block1[i] >>> 8) * 0x1p-24f, u[4 + i]);
        }
        // The seed is the key: low word first.
        float[] keyed = new float[4];
        Philox.uniform(0x299f31d0_a4093822L, 0, keyed, 0, 4);
        int[] words = Philox.block(new int[] {0, 0, 0, 0}, new int[] {0xa4093822, 0x299f31d0});
        assertEquals((words[2] >>> 8) * 0x1p-24f, keyed[2]);
    }

    @Test
    void normalIsBoxMullerOnWordPairs() {
        float[] z = new float[4];
        Philox.normal(SEED, 0, z, 0, 4);
        int[] w = Philox.block(new int[] {0, 0, 0, 0}, new int[] {(int) SEED, 0});
        double r = Math.sqrt(-2 * Math.log((Integer.toUnsignedLong(w[0]) + 0.5) / 0x1p32));
        double theta = 2 * Math.PI * Integer.toUnsignedLong(w[1]) / 0x1p32;
        assertEquals(r * Math.cos(theta), z[0], 1e-6);
        assertEquals(r * Math.sin(theta), z[1], 1e-6);
    }

    @Test
    void resultsDoNotDependOnChunking() {
        int n = 200_003;
        long offset = 7;
        for (boolean normal : new boolean[] {true, false}) {
            float[] whole = new float[n];
            fill(normal, offset, whole, 0, n);

            float[] pieces = new float[n];
            int[] cuts = {0, 1, 3, 4, 5, 17, 1000, 65_537, 131_071, n};
            for (int i = 0; i + 1 < cuts.length; i++) {
                fill(normal, offset, pieces, cuts[i], cuts[i + 1]);
            }
            assertArrayEquals(whole, pieces);

            float[] oneByOne = new float[n];
            for (int i = n - 1; i >= n - 64; i--) {
                fill(normal, offset, oneByOne, i, i + 1);
            }
            assertArrayEquals(Arrays.copyOfRange(whole, n - 64, n), Arrays.copyOfRange(oneByOne, n - 64, n));

            // Element offset + j lands in out[j]: shifting the offset shifts the array.
            float[] shifted = new float[n - 5];
            fill(normal, offset + 5, shifted, 0, n - 5);
            assertArrayEquals(Arrays.copyOfRange(whole, 5, n), shifted);
        }
    }

    @Test
    void largeOffsetsCrossThe32BitCounterWord() {
        long offset = (1L << 34) - 6;
        float[] whole = new float[12];
        Philox.normal(SEED, offset, whole, 0, 12);
        float[] tail = new float[6];
        Philox.normal(SEED, 1L << 34, tail, 0, 6);
        assertArrayEquals(Arrays.copyOfRange(whole, 6, 12), tail);
        assertFalse(Arrays.equals(Arrays.copyOfRange(whole, 0, 6), tail));
    }

    @Test
    void uniformStatistics() {
        int n = 1_000_000;
        float[] u = new float[n];
        Philox.uniform(SEED, 0, u, 0, n);
        double sum = 0;
        float min = 1;
        float max = 0;
        int[] deciles = new int[10];
        for (float v : u) {
            sum += v;
            min = Math.min(min, v);
            max = Math.max(max, v);
            deciles[(int) (v * 10)]++;
        }
        double mean = sum / n;
        System.out.printf("uniform: mean %.6f min %.3g max %.8f deciles %s%n", mean, min, max,
                Arrays.toString(deciles));
        assertTrue(min >= 0 && max < 1, "range [" + min + ", " + max + "]");
        // Standard error of the mean is 2.9e-4; the seed is fixed, so these bounds are 10+ sigma and cannot flake.
        assertEquals(0.5, mean, 3e-3);
        for (int count : deciles) {
            assertEquals(n / 10.0, count, 3000);
        }
    }

    @Test
    void normalStatistics() {
        int n = 1_000_000;
        float[] z = new float[n];
        Philox.normal(SEED, 0, z, 0, n);
        double sum = 0;
        double sumSq = 0;
        double sumQuad = 0;
        int withinOneSigma = 0;
        float maxAbs = 0;
        for (float v : z) {
            assertTrue(Float.isFinite(v));
            sum += v;
            sumSq += (double) v * v;
            sumQuad += (double) v * v * v * v;
            withinOneSigma += Math.abs(v) < 1 ? 1 : 0;
            maxAbs = Math.max(maxAbs, Math.abs(v));
        }
        double mean = sum / n;
        double std = Math.sqrt(sumSq / n - mean * mean);
        double kurtosis = sumQuad / n;
        double fraction = withinOneSigma / (double) n;
        System.out.printf("normal: mean %.6f std %.6f E[z^4] %.4f P(|z|<1) %.5f max|z| %.3f%n", mean, std, kurtosis,
                fraction, maxAbs);
        // Standard errors: mean 1e-3, std 7e-4, E[z^4] 0.01, P(|z|<1) 4.7e-4; bounds are 10 sigma with a fixed seed.
        assertEquals(0, mean, 0.01);
        assertEquals(1, std, 0.007);
        assertEquals(3, kurtosis, 0.1);
        assertEquals(0.682689, fraction, 0.005);
        assertTrue(maxAbs <= 6.7638f);
    }

    @Test
    void seedsGiveDifferentStreams() {
        float[] a = new float[16];
        float[] b = new float[16];
        Philox.normal(1, 0, a, 0, 16);
        Philox.normal(2, 0, b, 0, 16);
        for (int i = 0; i < 16; i++) {
            assertTrue(a[i] != b[i], "element " + i);
        }
    }

    @Test
    void rejectsBadRanges() {
        float[] out = new float[4];
        assertThrows(IndexOutOfBoundsException.class, () -> Philox.normal(0, 0, out, 2, 5));
        assertThrows(IllegalArgumentException.class, () -> Philox.uniform(0, -1, out, 0, 4));
        assertThrows(IllegalArgumentException.class, () -> Philox.uniform(0, Long.MAX_VALUE - 2, out, 0, 4));
    }

    private static void fill(boolean normal, long offset, float[] out, int from, int to) {
        if (normal) {
            Philox.normal(SEED, offset, out, from, to);
        } else {
            Philox.uniform(SEED, offset, out, from, to);
        }
    }
}
