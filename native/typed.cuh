// A tensor argument in any element format: float32, or a 16-bit activation or weight (bfloat16 or IEEE half). The
// format travels with the address, so one kernel serves every mix of formats a mixed-precision model produces
// (a bf16 activation plus a float32 bias, a float32 gradient reaching a bf16 activation) without an instance per
// combination; the switch is uniform over the grid, so it costs no divergence.
#pragma once

#include "half.cuh"

// io.texforce.tensor.WeightDtype ordinals.
enum ElementType : int { T_FP32 = 0, T_BF16 = 1, T_FP16 = 2 };

// Passed by value: the Java side (KernelModule.Typed) lays it out as a 64-bit address, a 32-bit ElementType and
// 4 bytes of padding.
struct Typed {
    void* p;
    int type;

    __device__ __forceinline__ float load(size_t i) const {
        switch (type) {
            case T_BF16: return Bf16::load(static_cast<const uint16_t*>(p)[i]);
            case T_FP16: return Fp16::load(static_cast<const uint16_t*>(p)[i]);
            default: return static_cast<const float*>(p)[i];
        }
    }

    // Rounds to the tensor's format (nearest, ties to even), as WeightDtype.encode.
    __device__ __forceinline__ void store(size_t i, float v) const {
        switch (type) {
            case T_BF16: static_cast<uint16_t*>(p)[i] = Bf16::store(v); break;
            case T_FP16: static_cast<uint16_t*>(p)[i] = Fp16::store(v); break;
            default: static_cast<float*>(p)[i] = v;
        }
    }
};
static_assert(sizeof(Typed) == 16, "io.texforce.cuda.KernelModule.Typed writes this layout");
