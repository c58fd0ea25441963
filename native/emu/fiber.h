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

struct Fiber {
    void* sp = nullptr;          // saved stack pointer while switched out
    unsigned char* stack = nullptr;
    uint3 thread_idx{};
    int linear = 0;              // threadIdx.x + blockDim.x * (threadIdx.y + blockDim.y * threadIdx.z)
    bool done = false;
    const uint64_t* waiting_on = nullptr;  // generation counter of the barrier this fiber waits at
    uint64_t waiting_for = 0;              // ... and the value it waits to see change
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
    std::vector<uint64_t> shuffle_slots;  // one 8-byte slot per thread
    unsigned char* dynamic_shared = nullptr;
    Fiber* current = nullptr;
    void* scheduler_sp = nullptr;
};

Block& block();

// Runs every thread of one block to completion; returns false (and fills `error`) on a deadlock.
bool run_block(void (*body)(void*), void* arg, bool reverse, const char* kernel, char* error, size_t error_size);

// Called by a fiber: wait until every live fiber of the block (or of its warp) has arrived.
void sync_block();
void sync_warp();

}  // namespace tfemu
