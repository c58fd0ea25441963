package io.texforce.tensor.random;

/** Placeholder replaced by the io branch merge. */
public final class Philox {
    private Philox() {
    }

    public static void normal(long seed, long offset, float[] out, int from, int to) {
        throw new UnsupportedOperationException("merge pending");
    }

    public static void uniform(long seed, long offset, float[] out, int from, int to) {
        throw new UnsupportedOperationException("merge pending");
    }
}
