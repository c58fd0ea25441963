// The two 16-bit formats of frozen weights (io.texforce.tensor.WeightDtype), as load/store policies for kernel
// templates. Loads are exact. Stores round to nearest, ties to even, overflow to infinity, subnormals kept (nvcc
// flushes nothing without --use_fast_math): WeightDtype.encode, and PyTorch's .to(torch.bfloat16 / torch.float16).
#pragma once

#include <cuda_bf16.h>
#include <cuda_fp16.h>
#include <cstdint>

struct Bf16 {
    // A bfloat16 is the upper half of a float32.
    __device__ __forceinline__ static float load(uint16_t bits) { return __uint_as_float((uint32_t) bits << 16); }
    __device__ __forceinline__ static uint16_t store(float v) { return __bfloat16_as_ushort(__float2bfloat16_rn(v)); }
};

struct Fp16 {
    __device__ __forceinline__ static float load(uint16_t bits) { return __half2float(__ushort_as_half(bits)); }
    __device__ __forceinline__ static uint16_t store(float v) { return __half_as_ushort(__float2half_rn(v)); }
};
