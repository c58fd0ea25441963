// Cooperative threads for the CUDA host emulator: every CUDA thread of a block is a fiber on the host thread that
// runs the block, and a barrier (__syncthreads, __syncwarp, a warp shuffle) is a point where a fiber hands control
// back to the block's scheduler until every live fiber of its group has arrived. Fibers of a block run one at a
// time in a fixed order between barriers (forward or reverse, see tfemu_configure), so a missing barrier shows up
// as a wrong or order-dependent result instead of a rare race, and a barrier some threads never reach is reported
// as a deadlock.
#pragma once

#include <cstddef>
#include <cstdint>
#include <vector>

#include <vector_types.h>

namespace tfemu {

struct Block;

struct Fiber {
    Block* block = nullptr;
    void* sp = nullptr;          // saved stack pointer while switched out
    unsigned char* stack = nullptr;
    uint3 thread_idx{};
    int linear = 0;              // threadIdx.x + blockDim.x * (threadIdx.y + blockDim.y * threadIdx.z)
    bool done = false;
    const uint64_t* waiting_on = nullptr;  // generation counter of the barrier this fiber waits at
    uint64_t waiting_for = 0;              // ... and the value it waits to see change
    unsigned shuffles = 0;                 // shuffles done, whose parity picks the slot buffer
};

// A barrier over a group of fibers (the block, or one warp).
struct Barrier {
    int live = 0;
    int arrived = 0;
    uint64_t generation = 0;
};

// The block being run on this host thread.
struct Block {
    dim3 block_idx{}, block_dim{}, grid_dim{};
    std::vector<Fiber> fibers;
    Barrier block_barrier;
    std::vector<Barrier> warp_barriers;
    // Two 8-byte slots per thread, used by alternate shuffles: a lane cannot write a buffer again before every lane
    // has passed the next shuffle's barrier, by which time all have read it, so one barrier per shuffle suffices.
    std::vector<uint64_t> shuffle_slots;
    unsigned char* dynamic_shared = nullptr;
    Fiber* current = nullptr;
    bool reverse = false;  // schedule order
    int position = -1;     // of the current fiber in this pass, in schedule order
    int remaining = 0;     // fibers not yet finished
    void (*body)(void*) = nullptr;  // what every fiber runs
    void* arg = nullptr;
    void* scheduler_sp = nullptr;
};

// Fiber stacks are kStackBytes-aligned regions whose lowest page is a guard page and whose next word points to
// the fiber, so the running fiber is found from the stack pointer alone. That matters: threadIdx and every barrier
// need it, and thread-local storage in a shared library costs a __tls_get_addr call per access (the initial-exec
// model would need the kernels' large __shared__ arrays in the loader's small static TLS space).
constexpr uintptr_t kStackBytes = 256 * 1024;
constexpr uintptr_t kGuardBytes = 4096;

inline Fiber& this_fiber() {
    const uintptr_t sp = reinterpret_cast<uintptr_t>(__builtin_frame_address(0));
    return **reinterpret_cast<Fiber**>((sp & ~(kStackBytes - 1)) + kGuardBytes);
}

// The block of the running fiber (only valid inside a kernel or a barrier).
inline Block& block() { return *this_fiber().block; }

// This host thread's block state, created on first use; what the host side of a launch sets up.
Block& bind_block();

// Runs every thread of one block to completion; returns false (and fills `error`) on a deadlock.
bool run_block(void (*body)(void*), void* arg, bool reverse, const char* kernel, char* error, size_t error_size);

// Called by a fiber: wait until every live fiber of the block (or of its warp) has arrived.
void sync_block();
void sync_warp();

}  // namespace tfemu
