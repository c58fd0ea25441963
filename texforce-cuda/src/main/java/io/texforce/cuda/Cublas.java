package io.texforce.cuda;

import static java.lang.foreign.ValueLayout.ADDRESS;
import static java.lang.foreign.ValueLayout.JAVA_FLOAT;
import static java.lang.foreign.ValueLayout.JAVA_INT;
import static java.lang.foreign.ValueLayout.JAVA_LONG;

import io.texforce.tensor.WeightDtype;

import java.lang.foreign.Arena;
import java.lang.foreign.FunctionDescriptor;
import java.lang.foreign.Linker;
import java.lang.foreign.MemorySegment;
import java.lang.foreign.SymbolLookup;
import java.lang.invoke.MethodHandle;

/**
 * Row-major GEMMs with float32 accumulation and output on cuBLAS ({@code libcublas.so.13}), bound through the
 * foreign function interface: float32 inputs through {@code cublasSgemm}, bfloat16 or half inputs through
 * {@code cublasGemmEx} with {@code CUBLAS_COMPUTE_32F} (what PyTorch's autocast runs). cuBLAS is column-major, and a
 * row-major C = op(A) op(B) is the column-major C^T = op(B)^T op(A)^T, so every call passes B first. Runs in the
 * primary context on the default stream, ordered with our kernels.
 */
final class Cublas {
    private static final int OP_N = 0, OP_T = 1;
    private static final int DEFAULT_MATH = 0, TF32_TENSOR_OP_MATH = 3;
    /** cudaDataType_t, cublasComputeType_t and cublasGemmAlgo_t values of library_types.h and cublas_api.h. */
    private static final int CUDA_R_32F = 0, CUDA_R_16F = 2, CUDA_R_16BF = 14;
    private static final int CUBLAS_COMPUTE_32F = 68, CUBLAS_GEMM_DEFAULT = -1;

    private final MethodHandle sgemm, sgemmStridedBatched, gemmEx, gemmStridedBatchedEx, statusName, mathMode;
    private final MemorySegment handle;
    private boolean tf32;
    private final Arena arena = Arena.ofAuto();
    /** Host slots for alpha and beta (cuBLAS's default host pointer mode). */
    private final MemorySegment alpha = arena.allocate(JAVA_FLOAT), beta = arena.allocate(JAVA_FLOAT);

    Cublas(boolean tf32) {
        this(tf32, NativeLibraries.open("libcublas.so.13", "cublas"));
    }

    /** cuBLAS from {@code lib} (the CUDA host emulator serves it from its own library). */
    Cublas(boolean tf32, SymbolLookup lib) {
        Linker linker = Linker.nativeLinker();
        MethodHandle create = linker.downcallHandle(Driver.symbol(lib, "cublasCreate_v2"),
                FunctionDescriptor.of(JAVA_INT, ADDRESS));
        mathMode = linker.downcallHandle(Driver.symbol(lib, "cublasSetMathMode"),
                FunctionDescriptor.of(JAVA_INT, ADDRESS, JAVA_INT));
        statusName = linker.downcallHandle(Driver.symbol(lib, "cublasGetStatusName"),
                FunctionDescriptor.of(ADDRESS, JAVA_INT));
        sgemm = linker.downcallHandle(Driver.symbol(lib, "cublasSgemm_v2"), FunctionDescriptor.of(JAVA_INT,
                ADDRESS, JAVA_INT, JAVA_INT, JAVA_INT, JAVA_INT, JAVA_INT, ADDRESS, JAVA_LONG, JAVA_INT, JAVA_LONG,
                JAVA_INT, ADDRESS, JAVA_LONG, JAVA_INT));
        sgemmStridedBatched = linker.downcallHandle(Driver.symbol(lib, "cublasSgemmStridedBatched"),
                FunctionDescriptor.of(JAVA_INT, ADDRESS, JAVA_INT, JAVA_INT, JAVA_INT, JAVA_INT, JAVA_INT, ADDRESS,
                        JAVA_LONG, JAVA_INT, JAVA_LONG, JAVA_LONG, JAVA_INT, JAVA_LONG, ADDRESS, JAVA_LONG, JAVA_INT,
                        JAVA_LONG, JAVA_INT));
        gemmEx = linker.downcallHandle(Driver.symbol(lib, "cublasGemmEx"), FunctionDescriptor.of(JAVA_INT,
                ADDRESS, JAVA_INT, JAVA_INT, JAVA_INT, JAVA_INT, JAVA_INT, ADDRESS, JAVA_LONG, JAVA_INT, JAVA_INT,
                JAVA_LONG, JAVA_INT, JAVA_INT, ADDRESS, JAVA_LONG, JAVA_INT, JAVA_INT, JAVA_INT, JAVA_INT));
        gemmStridedBatchedEx = linker.downcallHandle(Driver.symbol(lib, "cublasGemmStridedBatchedEx"),
                FunctionDescriptor.of(JAVA_INT, ADDRESS, JAVA_INT, JAVA_INT, JAVA_INT, JAVA_INT, JAVA_INT, ADDRESS,
                        JAVA_LONG, JAVA_INT, JAVA_INT, JAVA_LONG, JAVA_LONG, JAVA_INT, JAVA_INT, JAVA_LONG, ADDRESS,
                        JAVA_LONG, JAVA_INT, JAVA_INT, JAVA_LONG, JAVA_INT, JAVA_INT, JAVA_INT));
        MemorySegment slot = arena.allocate(ADDRESS);
        check(invoke(create, slot), "cublasCreate");
        handle = slot.get(ADDRESS, 0);
        setTf32(tf32);
    }

    /**
     * Whether float32 GEMMs may run on TF32 tensor cores: inputs rounded to 10-bit mantissas, products summed in
     * float32 (PyTorch's {@code allow_tf32}). 16-bit GEMMs are unaffected.
     */
    synchronized void setTf32(boolean on) {
        check(invoke(mathMode, handle, on ? TF32_TENSOR_OP_MATH : DEFAULT_MATH), "cublasSetMathMode");
        tf32 = on;
    }

    /** Whether float32 GEMMs may run on TF32 tensor cores (see {@link #setTf32}). */
    synchronized boolean tf32() {
        return tf32;
    }

    /**
     * Row-major C[m, n] = alpha op(A) op(B) + beta C for {@code batch} matrices at the given element strides
     * (0 broadcasts one matrix); A is [m, k] (or [k, m] when transA) with row stride lda, B is [k, n] (or [n, k]).
     * A and B hold {@code inputs} elements (float32, bfloat16 or half); C holds {@code output} elements, float32 or
     * the 16-bit format of the inputs (rounded once from the float32 sums).
     */
    synchronized void gemm(WeightDtype inputs, WeightDtype output, boolean transA, boolean transB, int m, int n, int k, float alphaValue,
                           long a, int lda, long strideA, long b, int ldb, long strideB,
                           float betaValue, long c, int ldc, long strideC, int batch) {
        alpha.set(JAVA_FLOAT, 0, alphaValue);
        beta.set(JAVA_FLOAT, 0, betaValue);
        int opA = transA ? OP_T : OP_N, opB = transB ? OP_T : OP_N;
        int rc;
        String call;
        if (output != WeightDtype.FP32 && output != inputs) {
            throw new IllegalArgumentException("a GEMM of " + inputs.cliName() + " inputs cannot write "
                    + output.cliName() + " (cuBLAS takes a 16-bit C only with A and B of its format)");
        }
        if (inputs == WeightDtype.FP32) {
            call = batch == 1 ? "cublasSgemm" : "cublasSgemmStridedBatched";
            rc = batch == 1
                    ? invoke(sgemm, handle, opB, opA, n, m, k, alpha, b, ldb, a, lda, beta, c, ldc)
                    : invoke(sgemmStridedBatched, handle, opB, opA, n, m, k, alpha, b, ldb, strideB, a, lda,
                    strideA, beta, c, ldc, strideC, batch);
        } else {
            int type = inputs == WeightDtype.BF16 ? CUDA_R_16BF : CUDA_R_16F;
            int cType = output == WeightDtype.FP32 ? CUDA_R_32F : type;
            call = (batch == 1 ? "cublasGemmEx" : "cublasGemmStridedBatchedEx") + " (" + inputs.cliName()
                    + " inputs, " + output.cliName() + " output)";
            rc = batch == 1
                    ? invoke(gemmEx, handle, opB, opA, n, m, k, alpha, b, type, ldb, a, type, lda, beta, c,
                    cType, ldc, CUBLAS_COMPUTE_32F, CUBLAS_GEMM_DEFAULT)
                    : invoke(gemmStridedBatchedEx, handle, opB, opA, n, m, k, alpha, b, type, ldb, strideB, a, type,
                    lda, strideA, beta, c, cType, ldc, strideC, batch, CUBLAS_COMPUTE_32F, CUBLAS_GEMM_DEFAULT);
        }
        check(rc, call + " (m=" + m + ", n=" + n + ", k=" + k + ", batch=" + batch + ")");
    }

    private void check(int status, String what) {
        if (status != 0) {
            String name;
            try {
                name = ((MemorySegment) statusName.invoke(status)).reinterpret(64).getString(0);
            } catch (Throwable t) {
                name = "status " + status;
            }
            throw new CudaException(what + " failed: " + name);
        }
    }

    private static int invoke(MethodHandle h, Object... args) {
        try {
            return (int) h.invokeWithArguments(args);
        } catch (RuntimeException | Error e) {
            throw e;
        } catch (Throwable t) {
            throw new CudaException("cuBLAS call failed", t);
        }
    }
}
