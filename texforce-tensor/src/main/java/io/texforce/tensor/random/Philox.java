package io.texforce.tensor.random;

import io.texforce.tensor.cpu.Parallel;

import java.util.Objects;

/**
 * Philox4x32-10 (Salmon, Moraes, Dror and Shaw, "Parallel random numbers: as easy as 1, 2, 3", SC 2011), a
 * counter-based generator: each output block is a keyed bijection of its counter, so any element of a stream can
 * be computed on its own. Results therefore do not depend on thread count, chunking or backend.
 *
 * <p><b>Streams.</b> The 64-bit seed is the key (low word, high word). Element {@code g >= 0} of a stream is
 * word {@code g % 4} of the block whose counter is {@code (low word of g/4, high word of g/4, 0, 0)}. A fill
 * {@code (seed, offset, out, from, to)} writes element {@code offset + j} into {@code out[j]} for every
 * {@code j} in {@code [from, to)}, so filling an array piecewise gives exactly the same values as filling it at once.
 *
 * <p><b>Uniform</b> element from word {@code x}: {@code (x >>> 8) * 2^-24}, in [0, 1) with 24 random bits (every
 * value is exactly representable as a float).
 *
 * <p><b>Normal</b> elements come in pairs by Box-Muller: words {@code a, b} at positions {2k, 2k+1} of a block
 * (read as unsigned) give {@code u = (a + 0.5) * 2^-32}, which lies in (0, 1) so {@code log u} is finite,
 * {@code r = sqrt(-2 ln u)} and {@code theta = 2 pi b 2^-32}; position 2k holds {@code r cos theta} and 2k+1 holds
 * {@code r sin theta}. |value| is at most sqrt(66 ln 2), about 6.76. The arithmetic is double precision with {@link StrictMath},
 * rounded once to float, so results are bit-identical on every JVM.
 */
public final class Philox {
    private static final long M0 = 0xD2511F53L;
    private static final long M1 = 0xCD9E8D57L;
    private static final int W0 = 0x9E3779B9;
    private static final int W1 = 0xBB67AE85;
    private static final int ROUNDS = 10;
    private static final long MASK = 0xFFFF_FFFFL;
    private static final int GRAIN = 1 << 14;

    private Philox() {
    }

    /** One Philox4x32-10 block: the 4 output words for a 4-word counter and a 2-word key. */
    public static int[] block(int[] counter, int[] key) {
        if (counter.length != 4 || key.length != 2) {
            throw new IllegalArgumentException("Philox4x32 takes a 4-word counter and a 2-word key, got "
                    + counter.length + " and " + key.length);
        }
        int[] out = new int[4];
        block(counter[0], counter[1], counter[2], counter[3], key[0], key[1], out);
        return out;
    }

    /** Fills {@code out[from..to)} with standard normal values: element {@code offset + j} goes to {@code out[j]}. */
    public static void normal(long seed, long offset, float[] out, int from, int to) {
        fill(seed, offset, out, from, to, true);
    }

    /** Fills {@code out[from..to)} with values uniform in [0, 1): element {@code offset + j} goes to {@code out[j]}. */
    public static void uniform(long seed, long offset, float[] out, int from, int to) {
        fill(seed, offset, out, from, to, false);
    }

    private static void fill(long seed, long offset, float[] out, int from, int to, boolean normal) {
        Objects.checkFromToIndex(from, to, out.length);
        if (offset < 0 || offset > Long.MAX_VALUE - to) {
            throw new IllegalArgumentException("stream offset " + offset + " must be in [0, 2^63 - " + to + "]");
        }
        Parallel.forRange(to - from, GRAIN, (a, b) -> fillRange(seed, offset, out, from + a, from + b, normal));
    }

    private static void fillRange(long seed, long offset, float[] out, int from, int to, boolean normal) {
        int k0 = (int) seed;
        int k1 = (int) (seed >>> 32);
        int[] words = new int[4];
        float[] values = new float[4];
        long first = offset + from;
        long end = offset + to;
        long lastBlock = (end - 1) >>> 2;
        for (long block = first >>> 2; block <= lastBlock; block++) {
            block((int) block, (int) (block >>> 32), 0, 0, k0, k1, words);
            if (normal) {
                boxMuller(words[0], words[1], values, 0);
                boxMuller(words[2], words[3], values, 2);
            } else {
                for (int lane = 0; lane < 4; lane++) {
                    values[lane] = (words[lane] >>> 8) * 0x1p-24f;
                }
            }
            long g0 = block << 2;
            int lo = (int) Math.max(first - g0, 0);
            int hi = (int) Math.min(end - g0, 4);
            for (int lane = lo; lane < hi; lane++) {
                out[(int) (g0 + lane - offset)] = values[lane];
            }
        }
    }

    private static void boxMuller(int a, int b, float[] out, int at) {
        double u = ((a & MASK) + 0.5) * 0x1p-32;
        double theta = (b & MASK) * (2 * Math.PI * 0x1p-32);
        double r = StrictMath.sqrt(-2 * StrictMath.log(u));
        out[at] = (float) (r * StrictMath.cos(theta));
        out[at + 1] = (float) (r * StrictMath.sin(theta));
    }

    private static void block(int c0, int c1, int c2, int c3, int k0, int k1, int[] out) {
        for (int round = 0; round < ROUNDS; round++) {
            if (round > 0) {
                k0 += W0;
                k1 += W1;
            }
            long p0 = M0 * (c0 & MASK);
            long p1 = M1 * (c2 & MASK);
            c0 = (int) (p1 >>> 32) ^ c1 ^ k0;
            c1 = (int) p1;
            c2 = (int) (p0 >>> 32) ^ c3 ^ k1;
            c3 = (int) p0;
        }
        out[0] = c0;
        out[1] = c1;
        out[2] = c2;
        out[3] = c3;
    }
}
