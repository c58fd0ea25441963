// The cuBLAS calls io.texforce.cuda.Cublas binds, as plain column-major reference GEMMs on the host (double sums,
// one rounding to float). Arguments are validated as cuBLAS does (leading dimensions, data types), and every
// matrix's extent must lie inside one device allocation, so a wrong stride or leading dimension on the Java side
// fails the call with a message instead of reading a neighbour's memory.
#include <cuda_bf16.h>
#include <cuda_fp16.h>

#include <cstdint>
#include <cstdio>
#include <cstring>
#include <string>

#include "device.h"
#include "tf32.h"
#include "memory.h"

namespace {

enum : int {
    STATUS_SUCCESS = 0,
    STATUS_NOT_INITIALIZED = 1,
    STATUS_INVALID_VALUE = 7,
    STATUS_ARCH_MISMATCH = 8,
    STATUS_NOT_SUPPORTED = 15
};
enum : int { CUDA_R_32F = 0, CUDA_R_16F = 2, CUDA_R_16BF = 14 };
enum : int { COMPUTE_32F = 68, COMPUTE_32F_FAST_TF32 = 77 };

int handle_tag;
bool tf32_math = false;  // cublasSetMathMode(CUBLAS_TF32_TENSOR_OP_MATH)

using tfemu::to_tf32;

float element(const void* base, int type, int64_t index) {
    switch (type) {
        case CUDA_R_16F: return __half2float(static_cast<const __half*>(base)[index]);
        case CUDA_R_16BF: return __bfloat162float(static_cast<const __nv_bfloat16*>(base)[index]);
        default: {
            const float v = static_cast<const float*>(base)[index];
            return tf32_math ? to_tf32(v) : v;
        }
    }
}

int element_bytes(int type) { return type == CUDA_R_32F ? 4 : 2; }

// The value of an output element, as it is (the TF32 rounding of inputs does not apply to C).
float output(const void* base, int type, int64_t index) {
    return type == CUDA_R_32F ? static_cast<const float*>(base)[index] : element(base, type, index);
}

// Writes v into an output of `type`, a 16-bit one rounded to nearest with ties to even (cuBLAS's epilogue).
void store(void* base, int type, int64_t index, float v) {
    switch (type) {
        case CUDA_R_16F: static_cast<__half*>(base)[index] = __float2half_rn(v); break;
        case CUDA_R_16BF: static_cast<__nv_bfloat16*>(base)[index] = __float2bfloat16_rn(v); break;
        default: static_cast<float*>(base)[index] = v;
    }
}

// Checks that the column-major rows x cols matrix at `p` with leading dimension ld lies in one allocation.
bool matrix_ok(const char* call, const char* which, uint64_t p, int type, int rows, int cols, int ld) {
    if (ld < (rows > 1 ? rows : 1)) {
        std::fprintf(stderr, "tfemu: %s: leading dimension of %s is %d, less than its %d rows\n", call, which, ld,
                     rows);
        return false;
    }
    if (rows == 0 || cols == 0) return true;
    const uint64_t last = static_cast<uint64_t>(cols - 1) * ld + (rows - 1);
    std::string why;
    if (!tfemu::in_bounds(p, (last + 1) * element_bytes(type), why)) {
        std::fprintf(stderr, "tfemu: %s: matrix %s (%d x %d, ld %d): %s\n", call, which, rows, cols, ld, why.c_str());
        return false;
    }
    return true;
}

int gemm(const char* call, int ta, int tb, int m, int n, int k, float alpha, uint64_t a, int a_type, int lda,
         int64_t stride_a, uint64_t b, int b_type, int ldb, int64_t stride_b, float beta, uint64_t c, int c_type,
         int ldc, int64_t stride_c, int batch) {
    if (ta < 0 || ta > 1 || tb < 0 || tb > 1 || m < 0 || n < 0 || k < 0 || batch < 0) return STATUS_INVALID_VALUE;
    if ((a_type != CUDA_R_32F && a_type != CUDA_R_16F && a_type != CUDA_R_16BF) || b_type != a_type) {
        std::fprintf(stderr, "tfemu: %s: input types %d and %d are not emulated\n", call, a_type, b_type);
        return STATUS_NOT_SUPPORTED;
    }
    if (c_type != CUDA_R_32F && c_type != a_type) {
        // cuBLAS's 32F compute takes a 16-bit C only with A and B of the same format.
        std::fprintf(stderr, "tfemu: %s: output type %d with input type %d is not a cuBLAS combination\n", call,
                     c_type, a_type);
        return STATUS_NOT_SUPPORTED;
    }
    if (a_type == CUDA_R_16BF && tfemu::compute_capability() < 80) {
        std::fprintf(stderr, "tfemu: %s: bf16 inputs need compute capability 8.0, the device is %d\n", call,
                     tfemu::compute_capability());
        return STATUS_ARCH_MISMATCH;
    }
    tfemu::flush_pending_copies();  // cuBLAS runs on the default stream, after the copies queued before it
    const int a_rows = ta ? k : m, a_cols = ta ? m : k, b_rows = tb ? n : k, b_cols = tb ? k : n;
    for (int i = 0; i < batch; i++) {
        const uint64_t ai = a + (uint64_t) (i * stride_a * element_bytes(a_type));
        const uint64_t bi = b + (uint64_t) (i * stride_b * element_bytes(b_type));
        const uint64_t ci = c + (uint64_t) (i * stride_c * element_bytes(c_type));
        if ((k > 0 && !matrix_ok(call, "A", ai, a_type, a_rows, a_cols, lda))
            || (k > 0 && !matrix_ok(call, "B", bi, b_type, b_rows, b_cols, ldb))
            || !matrix_ok(call, "C", ci, c_type, m, n, ldc)) {
            return STATUS_INVALID_VALUE;
        }
        const void* pa = reinterpret_cast<const void*>(ai);
        const void* pb = reinterpret_cast<const void*>(bi);
        auto* pc = reinterpret_cast<void*>(ci);
        for (int col = 0; col < n; col++) {
            for (int row = 0; row < m; row++) {
                double s = 0;
                for (int l = 0; l < k; l++) {
                    const float x = element(pa, a_type, ta ? (int64_t) row * lda + l : (int64_t) l * lda + row);
                    const float y = element(pb, b_type, tb ? (int64_t) l * ldb + col : (int64_t) col * ldb + l);
                    s += (double) x * y;
                }
                const int64_t at = (int64_t) col * ldc + row;
                // beta == 0 ignores C entirely (it may hold NaNs), as cuBLAS does.
                store(pc, c_type, at, beta == 0.0f ? (float) (alpha * s)
                                                   : (float) (alpha * s + (double) beta * output(pc, c_type, at)));
            }
        }
    }
    return STATUS_SUCCESS;
}

bool compute_ok(const char* call, int compute, int c_type) {
    if ((compute != COMPUTE_32F && compute != COMPUTE_32F_FAST_TF32)
        || (c_type != CUDA_R_32F && c_type != CUDA_R_16F && c_type != CUDA_R_16BF)) {
        std::fprintf(stderr, "tfemu: %s: compute type %d with output type %d is not emulated\n", call, compute,
                     c_type);
        return false;
    }
    return true;
}

}  // namespace

extern "C" {

int cublasCreate_v2(void** handle) {
    *handle = &handle_tag;
    return STATUS_SUCCESS;
}

int cublasSetMathMode(void* handle, int mode) {
    if (handle != &handle_tag) return STATUS_NOT_INITIALIZED;
    if (mode != 0 && mode != 3) {  // CUBLAS_DEFAULT_MATH, CUBLAS_TF32_TENSOR_OP_MATH
        std::fprintf(stderr, "tfemu: cublasSetMathMode: mode %d is not emulated\n", mode);
        return STATUS_INVALID_VALUE;
    }
    tf32_math = mode == 3;
    return STATUS_SUCCESS;
}

const char* cublasGetStatusName(int status) {
    switch (status) {
        case STATUS_SUCCESS: return "CUBLAS_STATUS_SUCCESS";
        case STATUS_NOT_INITIALIZED: return "CUBLAS_STATUS_NOT_INITIALIZED";
        case STATUS_INVALID_VALUE: return "CUBLAS_STATUS_INVALID_VALUE";
        case STATUS_ARCH_MISMATCH: return "CUBLAS_STATUS_ARCH_MISMATCH";
        case STATUS_NOT_SUPPORTED: return "CUBLAS_STATUS_NOT_SUPPORTED";
        default: return "CUBLAS_STATUS_UNKNOWN";
    }
}

int cublasSgemm_v2(void* handle, int ta, int tb, int m, int n, int k, const float* alpha, uint64_t a, int lda,
                   uint64_t b, int ldb, const float* beta, uint64_t c, int ldc) {
    if (handle != &handle_tag) return STATUS_NOT_INITIALIZED;
    return gemm("cublasSgemm", ta, tb, m, n, k, *alpha, a, CUDA_R_32F, lda, 0, b, CUDA_R_32F, ldb, 0, *beta, c,
                CUDA_R_32F, ldc, 0, 1);
}

int cublasSgemmStridedBatched(void* handle, int ta, int tb, int m, int n, int k, const float* alpha, uint64_t a,
                              int lda, long long stride_a, uint64_t b, int ldb, long long stride_b, const float* beta,
                              uint64_t c, int ldc, long long stride_c, int batch) {
    if (handle != &handle_tag) return STATUS_NOT_INITIALIZED;
    return gemm("cublasSgemmStridedBatched", ta, tb, m, n, k, *alpha, a, CUDA_R_32F, lda, stride_a, b, CUDA_R_32F,
                ldb, stride_b, *beta, c, CUDA_R_32F, ldc, stride_c, batch);
}

int cublasGemmEx(void* handle, int ta, int tb, int m, int n, int k, const void* alpha, uint64_t a, int a_type,
                 int lda, uint64_t b, int b_type, int ldb, const void* beta, uint64_t c, int c_type, int ldc,
                 int compute, int) {
    if (handle != &handle_tag) return STATUS_NOT_INITIALIZED;
    if (!compute_ok("cublasGemmEx", compute, c_type)) return STATUS_NOT_SUPPORTED;
    return gemm("cublasGemmEx", ta, tb, m, n, k, *static_cast<const float*>(alpha), a, a_type, lda, 0, b, b_type,
                ldb, 0, *static_cast<const float*>(beta), c, c_type, ldc, 0, 1);
}

int cublasGemmStridedBatchedEx(void* handle, int ta, int tb, int m, int n, int k, const void* alpha, uint64_t a,
                               int a_type, int lda, long long stride_a, uint64_t b, int b_type, int ldb,
                               long long stride_b, const void* beta, uint64_t c, int c_type, int ldc,
                               long long stride_c, int batch, int compute, int) {
    if (handle != &handle_tag) return STATUS_NOT_INITIALIZED;
    if (!compute_ok("cublasGemmStridedBatchedEx", compute, c_type)) return STATUS_NOT_SUPPORTED;
    return gemm("cublasGemmStridedBatchedEx", ta, tb, m, n, k, *static_cast<const float*>(alpha), a, a_type, lda,
                stride_a, b, b_type, ldb, stride_b, *static_cast<const float*>(beta), c, c_type, ldc, stride_c,
                batch);
}

}  // extern "C"
