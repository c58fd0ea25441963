package io.texforce.tensor.cpu;

import io.texforce.tensor.Backend;
import io.texforce.tensor.Storage;
import io.texforce.tensor.WeightDtype;

/**
 * Heap storage of 16-bit elements (bfloat16 or IEEE half bit patterns in a {@code short[]}): frozen weights at
 * half the memory of {@link CpuStorage}. Read-only for every kernel but LoRA merging. The GEMM and convolution
 * kernels read it directly, widening while they pack; any other kernel widens the whole storage through
 * {@link #widen()}, the one place a 16-bit storage turns into float32.
 */
public final class HalfStorage implements Storage {
    private final short[] bits;
    private final WeightDtype dtype;

    public HalfStorage(short[] bits, WeightDtype dtype) {
        if (!dtype.isHalf()) {
            throw new IllegalArgumentException("HalfStorage holds bf16 or fp16 elements, not " + dtype.cliName());
        }
        this.bits = bits;
        this.dtype = dtype;
    }

    /** {@code values} rounded to {@code dtype} (round to nearest, ties to even). */
    public static HalfStorage round(float[] values, WeightDtype dtype) {
        short[] bits = new short[values.length];
        Parallel.forRange(values.length, 1 << 16, (lo, hi) -> {
            for (int i = lo; i < hi; i++) {
                bits[i] = dtype.encode(values[i]);
            }
        });
        return new HalfStorage(bits, dtype);
    }

    /** The backing bit patterns; kernels index them directly. */
    public short[] bits() {
        return bits;
    }

    @Override
    public WeightDtype dtype() {
        return dtype;
    }

    /** Element {@code i} as a float32 (exact). */
    public float get(int i) {
        return dtype.decode(bits[i]);
    }

    /** Widens {@code length} elements from {@code from} into {@code dst} at {@code dstOff} (exact). */
    public void widen(int from, float[] dst, int dstOff, int length) {
        if (dtype == WeightDtype.BF16) {
            for (int i = 0; i < length; i++) {
                dst[dstOff + i] = Float.intBitsToFloat(bits[from + i] << 16);
            }
        } else {
            for (int i = 0; i < length; i++) {
                dst[dstOff + i] = Float.float16ToFloat(bits[from + i]);
            }
        }
    }

    /**
     * Widens {@code count} elements {@code srcStride} apart from {@code from} into {@code dst}, {@code dstStride}
     * apart from {@code dstOff}: the gather of the GEMM packing routines (exact).
     */
    public void widen(int from, int srcStride, float[] dst, int dstOff, int dstStride, int count) {
        if (dtype == WeightDtype.BF16) {
            for (int i = 0, s = from, d = dstOff; i < count; i++, s += srcStride, d += dstStride) {
                dst[d] = Float.intBitsToFloat(bits[s] << 16);
            }
        } else {
            for (int i = 0, s = from, d = dstOff; i < count; i++, s += srcStride, d += dstStride) {
                dst[d] = Float.float16ToFloat(bits[s]);
            }
        }
    }

    /** A float32 copy of every element: the conversion path of kernels without a 16-bit variant. */
    public float[] widen() {
        float[] out = new float[bits.length];
        Parallel.forRange(bits.length, 1 << 16, (lo, hi) -> widen(lo, out, lo, hi - lo));
        return out;
    }

    @Override
    public Backend backend() {
        return CpuBackend.INSTANCE;
    }

    @Override
    public int size() {
        return bits.length;
    }
}
