// TF32 as tensor cores take a float32 input: 10 mantissa bits, rounded to nearest with ties away from zero
// (cvt.rna.tf32.f32); infinities and NaNs pass through. Shared by the emulated cuBLAS and cuDNN.
#pragma once

#include <cstdint>
#include <cstring>

namespace tfemu {

inline float to_tf32(float v) {
    uint32_t bits;
    std::memcpy(&bits, &v, 4);
    if ((bits & 0x7F800000u) != 0x7F800000u) bits = (bits + 0x1000u) & 0xFFFFE000u;
    std::memcpy(&v, &bits, 4);
    return v;
}

}  // namespace tfemu
