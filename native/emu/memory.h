// Device memory of the CUDA host emulator: host pages, each allocation ending right before an inaccessible page so
// that a kernel running past the end of a buffer faults, and filled with NaN bytes so that reading memory nothing
// wrote shows up in results. Copies and cuBLAS calls check that their whole range lies in one live allocation.
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

}  // namespace tfemu
