#include "memory.h"

#include <sys/mman.h>
#include <unistd.h>

#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <iterator>
#include <map>
#include <mutex>
#include <vector>

namespace tfemu {

namespace {

struct Allocation {
    size_t bytes;       // as asked
    void* mapping;      // start of the mapping, which ends with the guard page
    size_t mapped;
};

std::mutex mutex;
std::map<uint64_t, Allocation> live;
std::map<uintptr_t, size_t> pinned;  // start -> bytes

struct PendingCopy {
    uint64_t dst;
    const void* src;
    size_t bytes;
};
std::mutex queue_mutex;
std::vector<PendingCopy> pending;
size_t in_use = 0;
constexpr size_t kTotal = size_t(16) << 30;  // what cuMemGetInfo reports
// Each allocation is two memory mappings (data, guard page) and Linux allows a process 65530 by default: past this
// many live allocations the emulated device reports out of memory, which makes the Java caching allocator give
// cached blocks back, before the JVM itself (thread stacks, heap) runs out of mappings.
constexpr size_t kMaxAllocations = 16384;

size_t page() {
    static const size_t p = static_cast<size_t>(sysconf(_SC_PAGESIZE));
    return p;
}

}  // namespace

uint64_t allocate(size_t bytes) {
    if (bytes == 0) bytes = 1;
    const size_t padded = (bytes + 255) / 256 * 256;  // cudaMalloc's alignment is 256 bytes
    const size_t data_pages = (padded + page() - 1) / page() * page();
    const size_t mapped = data_pages + page();
    std::lock_guard<std::mutex> lock(mutex);
    if (in_use + bytes > kTotal || live.size() >= kMaxAllocations) return 0;
    void* m = mmap(nullptr, mapped, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS | MAP_NORESERVE, -1, 0);
    if (m == MAP_FAILED) return 0;
    auto* base = static_cast<unsigned char*>(m);
    mprotect(base + data_pages, page(), PROT_NONE);
    unsigned char* p = base + data_pages - padded;
    // All-ones floats are NaNs. Buffers beyond 256 MiB stay untouched (zero pages, no memory used until written), so
    // that tests of huge allocations cost nothing.
    if (padded <= (size_t(256) << 20)) std::memset(p, 0xFF, padded);
    const uint64_t ptr = reinterpret_cast<uint64_t>(p);
    live[ptr] = Allocation{bytes, m, mapped};
    in_use += bytes;
    return ptr;
}

bool release(uint64_t pointer) {
    flush_pending_copies();  // freeing synchronises, as cuMemFree does
    std::lock_guard<std::mutex> lock(mutex);
    auto it = live.find(pointer);
    if (it == live.end()) return false;
    munmap(it->second.mapping, it->second.mapped);
    in_use -= it->second.bytes;
    live.erase(it);
    return true;
}

size_t bytes_in_use() {
    std::lock_guard<std::mutex> lock(mutex);
    return in_use;
}

size_t total_bytes() { return kTotal; }

bool in_bounds(uint64_t pointer, size_t bytes, std::string& why) {
    std::lock_guard<std::mutex> lock(mutex);
    auto it = live.upper_bound(pointer);
    if (it == live.begin()) {
        why = "address " + std::to_string(pointer) + " is below every live allocation";
        return false;
    }
    it = std::prev(it);
    const uint64_t start = it->first, end = start + it->second.bytes;
    if (pointer >= end) {
        why = "address " + std::to_string(pointer) + " is " + std::to_string(pointer - end)
              + " bytes past the end of the allocation of " + std::to_string(it->second.bytes) + " bytes at "
              + std::to_string(start);
        return false;
    }
    if (bytes > end - pointer) {
        why = std::to_string(bytes) + " bytes at offset " + std::to_string(pointer - start)
              + " overrun the allocation of " + std::to_string(it->second.bytes) + " bytes by "
              + std::to_string(bytes - (end - pointer));
        return false;
    }
    return true;
}

void* allocate_host(size_t bytes) {
    void* p = std::aligned_alloc(4096, (bytes + 4095) / 4096 * 4096);
    if (p == nullptr) return nullptr;
    std::lock_guard<std::mutex> lock(mutex);
    pinned[reinterpret_cast<uintptr_t>(p)] = bytes;
    return p;
}

bool release_host(void* pointer) {
    flush_pending_copies();
    std::lock_guard<std::mutex> lock(mutex);
    auto it = pinned.find(reinterpret_cast<uintptr_t>(pointer));
    if (it == pinned.end()) return false;
    pinned.erase(it);
    std::free(pointer);
    return true;
}

bool in_host_allocation(const void* pointer, size_t bytes) {
    const auto p = reinterpret_cast<uintptr_t>(pointer);
    std::lock_guard<std::mutex> lock(mutex);
    auto it = pinned.upper_bound(p);
    if (it == pinned.begin()) return false;
    it = std::prev(it);
    return p - it->first <= it->second && bytes <= it->second - (p - it->first);
}

void queue_copy(uint64_t dst, const void* src, size_t bytes) {
    std::lock_guard<std::mutex> lock(queue_mutex);
    pending.push_back(PendingCopy{dst, src, bytes});
}

void flush_pending_copies() {
    std::vector<PendingCopy> copies;
    {
        std::lock_guard<std::mutex> lock(queue_mutex);
        copies.swap(pending);
    }
    for (const PendingCopy& c : copies) std::memcpy(reinterpret_cast<void*>(c.dst), c.src, c.bytes);
}

}  // namespace tfemu

// For the cuDNN emulator (a library of its own, see cudnn.cpp): the memory checks of this emulator as C functions,
// handed to it by io.texforce.cuda.Cudnn.
extern "C" int tfemu_memory_check(uint64_t pointer, size_t bytes, char* why, size_t why_size) {
    std::string reason;
    if (tfemu::in_bounds(pointer, bytes, reason)) return 1;
    if (why != nullptr && why_size > 0) {
        std::snprintf(why, why_size, "%s", reason.c_str());
    }
    return 0;
}

extern "C" void tfemu_flush_copies() { tfemu::flush_pending_copies(); }
