package io.texforce.benchmarks;

import io.texforce.tensor.cpu.Parallel;
import java.lang.foreign.MemorySegment;
import org.bytedeco.javacpp.FloatPointer;
import org.bytedeco.openblas.global.openblas;

/** OpenBLAS set-up shared by the baselines: same thread count as our kernels, data in native memory. */
final class OpenBlas {
    private OpenBlas() {
    }

    /** Loads the native library (JavaCPP extracts it on first use) and matches our thread count. */
    static void init() {
        openblas.blas_set_num_threads(Parallel.threads());
    }

    /** A native copy of {@code data}; OpenBLAS reads and writes native memory without JNI array pinning. */
    static FloatPointer copyOf(float[] data) {
        return new FloatPointer(data);
    }

    /** Native zero-filled buffer of {@code size} floats. */
    static FloatPointer allocate(long size) {
        return new FloatPointer(size).zero();
    }

    /** A Java view of a native buffer, for the parts of a baseline (im2col, softmax) that BLAS does not do. */
    static MemorySegment view(FloatPointer p) {
        return MemorySegment.ofBuffer(p.asBuffer());
    }

    /** Row-major {@code C = A B} with A [m, k], B [k, n] or (transB) [n, k], C [m, n], all densely packed. */
    static void sgemm(boolean transB, int m, int n, int k, FloatPointer a, FloatPointer b, FloatPointer c) {
        openblas.cblas_sgemm(openblas.CblasRowMajor, openblas.CblasNoTrans,
                transB ? openblas.CblasTrans : openblas.CblasNoTrans, m, n, k,
                1f, a, k, b, transB ? k : n, 0f, c, n);
    }
}
