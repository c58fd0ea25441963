// Kernels for 16-bit frozen weights (see half.cuh). CudaBackend keeps everything but the weights in float32: a
// 16-bit tensor reaching a float32 kernel is widened first (widen_*, the one widening path), and a 16-bit GEMM
// gets its float32 operand rounded to the weight's format (round_to_*), as PyTorch's autocast does. Each kernel
// has one entry point per format, *_bf16 and *_fp16. Strided kernels take an Indexer whose operand 0 is the
// source and operand 1 the destination.
#include "common.cuh"
#include "half.cuh"

template <class F>
__device__ void widen(const uint16_t* __restrict__ src, float* __restrict__ dst, const Indexer& ix, int n) {
    TF_FOR(i, n) {
        dst[tf_offset(ix, 1, i)] = F::load(src[tf_offset(ix, 0, i)]);
    }
}

extern "C" __global__ void widen_bf16(const uint16_t* __restrict__ src, float* __restrict__ dst, Indexer ix, int n) {
    widen<Bf16>(src, dst, ix, n);
}

extern "C" __global__ void widen_fp16(const uint16_t* __restrict__ src, float* __restrict__ dst, Indexer ix, int n) {
    widen<Fp16>(src, dst, ix, n);
}

template <class F>
__device__ void round_to(const float* __restrict__ src, uint16_t* __restrict__ dst, const Indexer& ix, int n) {
    TF_FOR(i, n) {
        dst[tf_offset(ix, 1, i)] = F::store(src[tf_offset(ix, 0, i)]);
    }
}

extern "C" __global__ void round_to_bf16(const float* __restrict__ src, uint16_t* __restrict__ dst, Indexer ix,
                                         int n) {
    round_to<Bf16>(src, dst, ix, n);
}

extern "C" __global__ void round_to_fp16(const float* __restrict__ src, uint16_t* __restrict__ dst, Indexer ix,
                                         int n) {
    round_to<Fp16>(src, dst, ix, n);
}

// Rows of a 16-bit table [vocab, dim] picked by int ids, widened into out [count, dim].
template <class F>
__device__ void embedding_gather_half(const uint16_t* __restrict__ weight, const int* __restrict__ ids,
                                      float* __restrict__ out, int count, int dim) {
    TF_FOR(i, count * dim) {
        int t = i / dim, j = i % dim;
        out[i] = F::load(weight[(size_t) ids[t] * dim + j]);
    }
}

extern "C" __global__ void embedding_gather_bf16(const uint16_t* __restrict__ weight, const int* __restrict__ ids,
                                                 float* __restrict__ out, int count, int dim) {
    embedding_gather_half<Bf16>(weight, ids, out, count, dim);
}

extern "C" __global__ void embedding_gather_fp16(const uint16_t* __restrict__ weight, const int* __restrict__ ids,
                                                 float* __restrict__ out, int count, int dim) {
    embedding_gather_half<Fp16>(weight, ids, out, count, dim);
}

// LoRA merging into a 16-bit weight: dst = round(dst + alpha * src), the sum in float32 and rounded once. The
// explicit _rn operations keep nvcc from contracting them into an FMA, so the sum is bit for bit the CPU's
// (float32 multiply, then add).
template <class F>
__device__ void add_in_place_half(uint16_t* __restrict__ dst, const float* __restrict__ src, float alpha, int n) {
    TF_FOR(i, n) {
        dst[i] = F::store(__fadd_rn(F::load(dst[i]), __fmul_rn(alpha, src[i])));
    }
}

extern "C" __global__ void add_in_place_bf16(uint16_t* __restrict__ dst, const float* __restrict__ src, float alpha,
                                             int n) {
    add_in_place_half<Bf16>(dst, src, alpha, n);
}

extern "C" __global__ void add_in_place_fp16(uint16_t* __restrict__ dst, const float* __restrict__ src, float alpha,
                                             int n) {
    add_in_place_half<Fp16>(dst, src, alpha, n);
}
