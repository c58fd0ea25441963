package io.texforce.rl.train;

/** Derives independent per-image seeds from (run seed, epoch, index) with SplitMix64 finalisers. */
final class Seeds {
    private Seeds() {
    }

    static long mix(long seed, long epoch, long index) {
        return splitMix(splitMix(splitMix(seed) ^ epoch) ^ index);
    }

    private static long splitMix(long z) {
        z += 0x9E3779B97F4A7C15L;
        z = (z ^ (z >>> 30)) * 0xBF58476D1CE4E5B9L;
        z = (z ^ (z >>> 27)) * 0x94D049BB133111EBL;
        return z ^ (z >>> 31);
    }
}
