package io.texforce.tensor.io;

import java.util.Optional;

/** Element types of a safetensors file; {@link #name()} is the spelling used in the header. */
public enum DType {
    F64(8, true, 12),
    F32(4, true, 11),
    F16(2, true, 7),
    BF16(2, true, 8),
    I64(8, false, 13),
    I32(4, false, 9),
    I16(2, false, 5),
    I8(1, false, 2),
    U8(1, false, 1),
    BOOL(1, false, 0);

    private final int byteSize;
    private final boolean floatingPoint;
    private final int layoutRank;

    DType(int byteSize, boolean floatingPoint, int layoutRank) {
        this.byteSize = byteSize;
        this.floatingPoint = floatingPoint;
        this.layoutRank = layoutRank;
    }

    /** Bytes per element. */
    public int byteSize() {
        return byteSize;
    }

    public boolean isFloatingPoint() {
        return floatingPoint;
    }

    /** How a float tensor stored as {@code stored} is written again: F16 and BF16 kept, anything else as F32. */
    public static DType floatStorage(DType stored) {
        return stored == F16 || stored == BF16 ? stored : F32;
    }

    /** The header spelling, e.g. {@code "BF16"}. */
    public String headerName() {
        return name();
    }

    /** The type spelled {@code name} in a header, if it is one of ours. */
    public static Optional<DType> fromHeader(String name) {
        for (DType t : values()) {
            if (t.name().equals(name)) {
                return Optional.of(t);
            }
        }
        return Optional.empty();
    }

    /**
     * Rank of this type in the Rust library's {@code Dtype} ordering (which also has types we do not support).
     * Its writer lays tensors out by descending rank, which puts wide types first and keeps every tensor aligned.
     */
    int layoutRank() {
        return layoutRank;
    }
}
