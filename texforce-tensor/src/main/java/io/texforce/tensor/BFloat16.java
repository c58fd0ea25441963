package io.texforce.tensor;

/** bfloat16: the top 16 bits of a float32 (same exponent range, 8-bit significand). */
public final class BFloat16 {
    private BFloat16() {
    }

    /** The float32 value of bfloat16 {@code bits}; exact. */
    public static float toFloat(short bits) {
        return Float.intBitsToFloat(bits << 16);
    }

    /**
     * Rounds to nearest, ties to even, as PyTorch's {@code .to(torch.bfloat16)}: finite values too large for
     * bfloat16 become infinities, subnormals round within the subnormal range. A NaN stays a quiet NaN with its
     * sign (PyTorch's scalar path returns 0x7FC0 and its vectorised path 0xFFFF; every one of them is a NaN)
     * rather than rounding its payload into an infinity.
     */
    public static short fromFloat(float value) {
        int bits = Float.floatToRawIntBits(value);
        if (Float.isNaN(value)) {
            return (short) ((bits >>> 16) | 0x0040);
        }
        int lsb = (bits >>> 16) & 1;
        return (short) ((bits + 0x7FFF + lsb) >>> 16);
    }
}
