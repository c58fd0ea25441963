// Shared definitions of the TexForce-J CUDA kernels. Every kernel is extern "C" so that the Java side finds it
// by its plain name (cuModuleGetFunction); every tensor argument is a dense row-major float32 buffer unless the
// kernel takes an Indexer. Shapes are int, as in the Java Tensor.
#pragma once

#include <cstdint>

#define TF_MAX_RANK 8
#define TF_MAX_OPERANDS 4

// Shape and per-operand element strides of an elementwise loop over up to TF_MAX_RANK dims. Passed by value: the
// Java side lays it out as int rank, int shape[8], int stride[4][8] (164 bytes, 4-byte aligned).
struct Indexer {
    int rank;
    int shape[TF_MAX_RANK];
    int stride[TF_MAX_OPERANDS][TF_MAX_RANK];
};
static_assert(sizeof(Indexer) == 164, "io.texforce.cuda.Indexer writes this layout");

// Element offset of operand `op` for the row-major linear index `i` of the loop's shape.
__device__ __forceinline__ int tf_offset(const Indexer& ix, int op, int i) {
    int off = 0;
    for (int d = ix.rank - 1; d >= 0; d--) {
        int n = ix.shape[d];
        off += (i % n) * ix.stride[op][d];
        i /= n;
    }
    return off;
}

// The block's dynamic shared memory (the launch's sharedBytes), 128-byte aligned. A macro so that the CUDA host
// emulator (native/emu) can give each block its own buffer.
#ifndef TF_DYNAMIC_SHARED
#define TF_DYNAMIC_SHARED(type, name) extern __shared__ __align__(128) type name[]
#endif

// Grid-stride loop over [0, n).
#define TF_FOR(i, n) for (int i = blockIdx.x * blockDim.x + threadIdx.x; i < (n); i += blockDim.x * gridDim.x)

__device__ __forceinline__ float tf_sigmoid(float x) {
    return 1.0f / (1.0f + expf(-x));
}

// Exact GELU, x * Phi(x), as PyTorch's default.
__device__ __forceinline__ float tf_gelu(float x) {
    return 0.5f * x * erfcf(-x * 0.70710678118654752f);
}

__device__ __forceinline__ float tf_gelu_grad(float x) {
    float cdf = 0.5f * erfcf(-x * 0.70710678118654752f);
    float pdf = 0.39894228040143268f * expf(-0.5f * x * x);
    return cdf + x * pdf;
}

// Sum over a warp; every lane gets the total.
template <typename T>
__device__ __forceinline__ T tf_warp_sum(T v) {
    for (int o = 16; o > 0; o >>= 1) v += __shfl_xor_sync(0xffffffffu, v, o);
    return v;
}

__device__ __forceinline__ float tf_warp_max(float v) {
    for (int o = 16; o > 0; o >>= 1) v = fmaxf(v, __shfl_xor_sync(0xffffffffu, v, o));
    return v;
}

// Sum over the whole block (blockDim.x a multiple of 32, at most 1024); every thread gets the total.
// `scratch` holds 32 values; the trailing barrier makes it safe to call again with the same scratch.
template <typename T>
__device__ T tf_block_sum(T v, T* scratch) {
    int lane = threadIdx.x & 31, warp = threadIdx.x >> 5, warps = blockDim.x >> 5;
    v = tf_warp_sum(v);
    if (lane == 0) scratch[warp] = v;
    __syncthreads();
    T total = lane < warps ? scratch[lane] : T(0);
    total = tf_warp_sum(total);
    __syncthreads();
    return total;
}

__device__ __forceinline__ float tf_block_max(float v, float* scratch) {
    int lane = threadIdx.x & 31, warp = threadIdx.x >> 5, warps = blockDim.x >> 5;
    v = tf_warp_max(v);
    if (lane == 0) scratch[warp] = v;
    __syncthreads();
    float m = lane < warps ? scratch[lane] : -INFINITY;
    m = tf_warp_max(m);
    __syncthreads();
    return m;
}
