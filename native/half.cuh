// The two 16-bit formats of weights and activations (io.texforce.tensor.WeightDtype), as load/store policies for
// kernel templates. Loads are exact. Stores round to nearest, ties to even, overflow to infinity, subnormals kept
// (nvcc flushes nothing without --use_fast_math): WeightDtype.encode, and PyTorch's .to(torch.bfloat16 / float16).
// Element and round() give the same rounding as the CUDA type that tensor-core (WMMA) fragments take.
#pragma once

#include <cuda_bf16.h>
#include <cuda_fp16.h>
#include <cstdint>

// WMMA takes bf16 fragments from sm_80 on; the host pass and the CUDA host emulator see every kernel.
#if !defined(__CUDA_ARCH__) || __CUDA_ARCH__ >= 800
#define TF_BF16_MMA 1
#else
#define TF_BF16_MMA 0
#endif

struct Bf16 {
    using Element = __nv_bfloat16;
    __device__ __forceinline__ static Element round(float v) { return __float2bfloat16_rn(v); }
    // A bfloat16 is the upper half of a float32.
    __device__ __forceinline__ static float load(uint16_t bits) { return __uint_as_float((uint32_t) bits << 16); }
    __device__ __forceinline__ static uint16_t store(float v) { return __bfloat16_as_ushort(round(v)); }
};

struct Fp16 {
    using Element = __half;
    __device__ __forceinline__ static Element round(float v) { return __float2half_rn(v); }
    __device__ __forceinline__ static float load(uint16_t bits) { return __half2float(__ushort_as_half(bits)); }
    __device__ __forceinline__ static uint16_t store(float v) { return __half_as_ushort(round(v)); }
};
