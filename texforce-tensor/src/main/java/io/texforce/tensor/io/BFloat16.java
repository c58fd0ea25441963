package io.texforce.tensor.io;

/** bfloat16: the top 16 bits of a float32 (same exponent range, 8-bit significand). */
final class BFloat16 {
    private BFloat16() {
    }

    static float toFloat(short bits) {
        return Float.intBitsToFloat(bits << 16);
    }

    /** Rounds to nearest, ties to even, as PyTorch does; NaN stays a (quiet) NaN instead of rounding to Inf. */
    static short fromFloat(float value) {
        int bits = Float.floatToRawIntBits(value);
        if (Float.isNaN(value)) {
            return (short) ((bits >>> 16) | 0x0040);
        }
        int lsb = (bits >>> 16) & 1;
        return (short) ((bits + 0x7FFF + lsb) >>> 16);
    }
}
