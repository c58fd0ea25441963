package io.texforce.tensor;

import java.util.Arrays;
import java.util.Locale;

/**
 * How frozen weights are stored: float32 (the reference), or 16 bits (bfloat16 or IEEE half) to halve their
 * memory. Only storage changes: kernels widen 16-bit elements to float32 as they read them and accumulate in
 * float32, and everything that is trained (LoRA parameters, gradients, optimizer moments) stays float32.
 * See docs/design.md, "Mixed precision".
 */
public enum WeightDtype {
    FP32("fp32", 4),
    BF16("bf16", 2),
    FP16("fp16", 2);

    private final String cliName;
    private final int bytes;

    WeightDtype(String cliName, int bytes) {
        this.cliName = cliName;
        this.bytes = bytes;
    }

    /** The spelling of command-line options and run configs: {@code fp32}, {@code bf16}, {@code fp16}. */
    public String cliName() {
        return cliName;
    }

    /** Bytes per stored element. */
    public int bytes() {
        return bytes;
    }

    /** Whether elements are stored in 16 bits. */
    public boolean isHalf() {
        return this != FP32;
    }

    /** The float32 value of 16-bit {@code bits} (exact). */
    public float decode(short bits) {
        return switch (this) {
            case BF16 -> BFloat16.toFloat(bits);
            case FP16 -> Float.float16ToFloat(bits);
            case FP32 -> throw new UnsupportedOperationException("fp32 elements are not stored in 16 bits");
        };
    }

    /** {@code value} rounded to nearest (ties to even) in this 16-bit format, exactly as PyTorch rounds. */
    public short encode(float value) {
        return switch (this) {
            case BF16 -> BFloat16.fromFloat(value);
            // The JDK specifies IEEE 754 round-to-nearest-even, PyTorch's rounding (c10::Half).
            case FP16 -> Float.floatToFloat16(value);
            case FP32 -> throw new UnsupportedOperationException("fp32 elements are not stored in 16 bits");
        };
    }

    /** {@code value} rounded to this format and back: what a stored weight holds. Identity for FP32. */
    public float round(float value) {
        return this == FP32 ? value : decode(encode(value));
    }

    /** The dtype spelled {@code name} ({@code fp32|bf16|fp16}, also {@code float32|bfloat16|float16}). */
    public static WeightDtype parse(String name) {
        return switch (name.toLowerCase(Locale.ROOT)) {
            case "fp32", "float32", "f32" -> FP32;
            case "bf16", "bfloat16" -> BF16;
            case "fp16", "float16", "f16", "half" -> FP16;
            default -> throw new IllegalArgumentException("unknown weight dtype '" + name + "'; expected one of "
                    + Arrays.stream(values()).map(WeightDtype::cliName).toList());
        };
    }
}
