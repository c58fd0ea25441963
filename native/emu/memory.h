// Device memory of the CUDA host emulator: host pages, each allocation ending right before an inaccessible page so
// that a kernel running past the end of a buffer faults, and filled with NaN bytes so that reading memory nothing
// wrote shows up in results (buffers up to 256 MiB). Copies and cuBLAS calls check that their whole range lies in
// one live allocation. The device has 16 GiB and holds at most 16384 allocations (two memory mappings each, under
// Linux's default limit of 65530 per process).
#pragma once

#include <cstddef>
#include <cstdint>
#include <string>

namespace tfemu {

uint64_t allocate(size_t bytes);        // 0 when out of (emulated) memory
bool release(uint64_t pointer);         // false if not the start of a live allocation
size_t bytes_in_use();
size_t total_bytes();

// Whether [pointer, pointer + bytes) lies inside one live allocation; if not, `why` says what is wrong.
bool in_bounds(uint64_t pointer, size_t bytes, std::string& why);

// Page-locked host memory (cuMemHostAlloc): plain host memory here, but remembered, because asynchronous copies
// must read from it.
void* allocate_host(size_t bytes);
bool release_host(void* pointer);
bool in_host_allocation(const void* pointer, size_t bytes);

// Asynchronous host-to-device copies are queued and only performed at the next point that orders them (a launch,
// a synchronous copy or memset, a GEMM, an event or context synchronisation, a free). So a host buffer reused
// before its copy is known to have completed shows up as wrong device data, as it could on a GPU.
void queue_copy(uint64_t dst, const void* src, size_t bytes);
void flush_pending_copies();

}  // namespace tfemu
