package io.texforce.tensor.io.torch;

import io.texforce.tensor.io.DType;

/** The element types of PyTorch storages ({@code torch.FloatStorage}, ...) and their safetensors counterparts. */
public enum StorageType {
    FLOAT("FloatStorage", DType.F32),
    HALF("HalfStorage", DType.F16),
    BFLOAT16("BFloat16Storage", DType.BF16),
    DOUBLE("DoubleStorage", DType.F64),
    LONG("LongStorage", DType.I64),
    INT("IntStorage", DType.I32),
    SHORT("ShortStorage", DType.I16),
    CHAR("CharStorage", DType.I8),
    BYTE("ByteStorage", DType.U8),
    BOOL("BoolStorage", DType.BOOL);

    private final String className;
    private final DType dtype;

    StorageType(String className, DType dtype) {
        this.className = className;
        this.dtype = dtype;
    }

    /** The class name in {@code torch}, e.g. {@code HalfStorage}. */
    public String className() {
        return className;
    }

    public DType dtype() {
        return dtype;
    }

    public int elementSize() {
        return dtype.byteSize();
    }
}
