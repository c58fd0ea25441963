// Kernels for 16-bit frozen weights (see half.cuh): the embedding gather that widens picked rows of a 16-bit
// table, and LoRA merging into a 16-bit weight. Each has one entry point per format, *_bf16 and *_fp16. (Widening
// and rounding copies are copy_strided's, whose Typed operands take every format.)
#include "common.cuh"
#include "half.cuh"
#include "typed.cuh"

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
__device__ void add_in_place_half(uint16_t* __restrict__ dst, const Typed& src, float alpha, int n) {
    TF_FOR(i, n) {
        dst[i] = F::store(__fadd_rn(F::load(dst[i]), __fmul_rn(alpha, src.load(i))));
    }
}

extern "C" __global__ void add_in_place_bf16(uint16_t* __restrict__ dst, Typed src, float alpha, int n) {
    add_in_place_half<Bf16>(dst, src, alpha, n);
}

extern "C" __global__ void add_in_place_fp16(uint16_t* __restrict__ dst, Typed src, float alpha, int n) {
    add_in_place_half<Fp16>(dst, src, alpha, n);
}
