// The CUDA device language on the host, for the CUDA host emulator: force-included (g++ -include) before every
// kernel source of native/ so that the very same kernels compile to host code. Threads of a block are fibers
// (fiber.h), __shared__ variables are per host thread (one block runs on a host thread at a time), dynamic shared
// memory is the block's buffer, and warp-level operations are barriers over the warp's fibers. Numerics follow the
// device where the kernels depend on it: IEEE float32 without contraction (build with -ffp-contract=off), the
// half-precision types and conversions of CUDA's own headers (host-compilable), float atomics.
#pragma once

#include <math.h>

#include <atomic>
#include <bit>
#include <cstdint>
#include <cstring>
#include <type_traits>

// CUDA's own headers first, before the macros below rename what they may mention.
#include <cuda_bf16.h>
#include <cuda_fp16.h>
#include <vector_functions.h>
#include <vector_types.h>

#include "fiber.h"

// CUDA's headers define these for a host compiler already (vector_types.h pulls in host_defines.h).
#undef __global__
#undef __device__
#undef __host__
#undef __forceinline__
#undef __launch_bounds__
#undef __align__
#undef __shared__
#define __global__
#define __device__
#define __host__
#define __forceinline__ inline
#define __launch_bounds__(...)
#define __align__(n) alignas(n)
#define __shared__ static thread_local
#define TF_DYNAMIC_SHARED(type, name) type* name = reinterpret_cast<type*>(::tfemu::block().dynamic_shared)

#define threadIdx (::tfemu::this_fiber().thread_idx)
#define blockIdx (::tfemu::block().block_idx)
#define blockDim (::tfemu::block().block_dim)
#define gridDim (::tfemu::block().grid_dim)

inline void __syncthreads() { ::tfemu::sync_block(); }
inline void __syncwarp(unsigned = 0xffffffffu) { ::tfemu::sync_warp(); }

// Every lane publishes its value, the warp meets, and each lane reads its partner's (see Block::shuffle_slots).
template <typename T>
inline T __shfl_xor_sync(unsigned, T value, int lane_mask, int width = 32) {
    static_assert(sizeof(T) <= 8 && std::is_trivially_copyable<T>::value, "shuffles move at most 8 bytes");
    ::tfemu::Fiber& me = ::tfemu::this_fiber();
    ::tfemu::Block& blk = *me.block;
    const int n = static_cast<int>(blk.fibers.size()), lane = me.linear & 31, base = me.linear - lane;
    uint64_t* slots = blk.shuffle_slots.data() + (me.shuffles++ & 1) * n;
    std::memcpy(&slots[me.linear], &value, sizeof(T));
    ::tfemu::sync_warp();
    int src = lane ^ lane_mask;
    if ((src & ~(width - 1)) != (lane & ~(width - 1)) || base + src >= n) src = lane;
    T out;
    std::memcpy(&out, &slots[base + src], sizeof(T));
    return out;
}

// Blocks of a grid run on several host threads at once, so atomics on global memory are real atomics.
template <typename T>
inline T tfemu_atomic_add(T* address, T value) {
    return std::atomic_ref<T>(*address).fetch_add(value, std::memory_order_relaxed);
}
inline float atomicAdd(float* address, float value) { return tfemu_atomic_add(address, value); }
inline double atomicAdd(double* address, double value) { return tfemu_atomic_add(address, value); }
inline int atomicAdd(int* address, int value) { return tfemu_atomic_add(address, value); }
inline unsigned atomicAdd(unsigned* address, unsigned value) { return tfemu_atomic_add(address, value); }

inline float __int_as_float(int v) { return std::bit_cast<float>(v); }
inline float __uint_as_float(unsigned v) { return std::bit_cast<float>(v); }
inline int __float_as_int(float v) { return std::bit_cast<int>(v); }
inline unsigned __float_as_uint(float v) { return std::bit_cast<unsigned>(v); }
inline unsigned __umulhi(unsigned a, unsigned b) {
    return static_cast<unsigned>((static_cast<uint64_t>(a) * b) >> 32);
}
// Rounded, never contracted into a fused multiply-add (the build passes -ffp-contract=off everywhere).
inline float __fmul_rn(float a, float b) { return a * b; }
inline float __fadd_rn(float a, float b) { return a + b; }

inline int min(int a, int b) { return a < b ? a : b; }
inline int max(int a, int b) { return a > b ? a : b; }
inline unsigned min(unsigned a, unsigned b) { return a < b ? a : b; }
inline unsigned max(unsigned a, unsigned b) { return a > b ? a : b; }
inline long long min(long long a, long long b) { return a < b ? a : b; }
inline long long max(long long a, long long b) { return a > b ? a : b; }
inline unsigned long long min(unsigned long long a, unsigned long long b) { return a < b ? a : b; }
inline unsigned long long max(unsigned long long a, unsigned long long b) { return a > b ? a : b; }
inline float min(float a, float b) { return fminf(a, b); }
inline float max(float a, float b) { return fmaxf(a, b); }
