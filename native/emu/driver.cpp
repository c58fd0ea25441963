// The CUDA driver API calls io.texforce.cuda.Driver binds, implemented on the host: one emulated device, device
// memory in host pages (memory.h), kernels from the generated registry run block by block on a pool of host
// threads, each block's threads as fibers (fiber.h). Launches run to completion before cuLaunchKernel returns, so
// a launch that fails (a deadlocked barrier, too much shared memory, an unknown function) returns its error right
// there, with a message on stderr. Unlike a GPU context after a kernel fault, the emulator stays usable.
#include <algorithm>
#include <atomic>
#include <condition_variable>
#include <cstdint>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <mutex>
#include <string>
#include <thread>
#include <vector>

#include "device.h"
#include "fiber.h"
#include "memory.h"
#include "registry.h"

namespace {

enum : int {
    SUCCESS = 0,
    INVALID_VALUE = 1,
    OUT_OF_MEMORY = 2,
    NOT_INITIALIZED = 3,
    INVALID_DEVICE = 101,
    INVALID_HANDLE = 400,
    NOT_FOUND = 500,
    ILLEGAL_ADDRESS = 700,
    LAUNCH_OUT_OF_RESOURCES = 701,
    LAUNCH_FAILED = 719,
};

constexpr int kMultiprocessors = 2;
constexpr int kSharedDefault = 48 * 1024;

std::atomic<bool> initialized{false};
std::atomic<bool> reverse_order{false};
std::atomic<int> host_threads{0};
std::atomic<int> compute_capability{90};

// The per-block shared memory a kernel may opt into on a GPU of this compute capability.
int shared_opt_in() {
    const int cc = compute_capability.load();
    if (cc >= 90) return 227 * 1024;  // H100
    if (cc == 80 || cc == 87) return 163 * 1024;  // A100, Orin
    if (cc >= 80) return 99 * 1024;   // sm_86, sm_89
    return 64 * 1024;                 // sm_75
}

struct FunctionState {
    const tfemu::KernelEntry* entry;
    int max_dynamic_shared = kSharedDefault;
};
std::vector<FunctionState>& functions() {
    static std::vector<FunctionState> f = [] {
        std::vector<FunctionState> v;
        for (int i = 0; i < tfemu::kernel_count; i++) v.push_back(FunctionState{&tfemu::kernels[i]});
        return v;
    }();
    return f;
}

void fail(const std::string& message) {
    std::fprintf(stderr, "tfemu: %s\n", message.c_str());
}

bool checked(uint64_t pointer, size_t bytes, const char* call) {
    std::string why;
    if (tfemu::in_bounds(pointer, bytes, why)) return true;
    std::fprintf(stderr, "tfemu: %s: %s\n", call, why.c_str());
    return false;
}

// One launch, shared by the pool's threads.
struct Launch {
    const tfemu::KernelEntry* entry;
    void** params;
    dim3 grid, block;
    unsigned shared_bytes;
    bool reverse;
    std::atomic<long> next_block{0};
    long blocks;
    std::mutex error_mutex;
    std::string error;
};

void run_kernel_thread(void* arg) {
    auto* l = static_cast<Launch*>(arg);
    l->entry->launch(l->entry->function, l->params);
}

void run_blocks(Launch& l) {
    tfemu::Block& blk = tfemu::bind_block();
    thread_local std::vector<unsigned char> shared;
    if (shared.size() < l.shared_bytes + 128) shared.resize(l.shared_bytes + 128);
    // Dynamic shared memory starts 128-byte aligned, and holds garbage as on a GPU.
    auto* base = reinterpret_cast<unsigned char*>((reinterpret_cast<uintptr_t>(shared.data()) + 127) & ~uintptr_t(127));
    char error[512];
    for (long b = l.next_block.fetch_add(1); b < l.blocks; b = l.next_block.fetch_add(1)) {
        blk.grid_dim = l.grid;
        blk.block_dim = l.block;
        blk.block_idx = dim3(static_cast<unsigned>(b % l.grid.x), static_cast<unsigned>(b / l.grid.x % l.grid.y),
                             static_cast<unsigned>(b / (static_cast<long>(l.grid.x) * l.grid.y)));
        std::memset(base, 0xFF, l.shared_bytes);
        blk.dynamic_shared = base;
        if (!tfemu::run_block(&run_kernel_thread, &l, l.reverse, l.entry->name, error, sizeof error)) {
            std::lock_guard<std::mutex> lock(l.error_mutex);
            if (l.error.empty()) l.error = error;
            l.next_block.store(l.blocks);  // stop handing out blocks
        }
    }
}

// Host threads that run the blocks of a launch; the calling (Java) thread only waits.
class Pool {
public:
    void run(Launch& l, int threads) {
        std::unique_lock<std::mutex> lock(mutex_);
        while (static_cast<int>(workers_.size()) < threads) {
            const int index = static_cast<int>(workers_.size());
            workers_.emplace_back([this, index] { work(index); });
        }
        job_ = &l;
        active_ = threads;
        pending_ = threads;
        generation_++;
        wake_.notify_all();
        done_.wait(lock, [this] { return pending_ == 0; });
        job_ = nullptr;
    }

private:
    void work(int index) {
        uint64_t seen = 0;
        for (;;) {
            Launch* job;
            {
                std::unique_lock<std::mutex> lock(mutex_);
                wake_.wait(lock, [&] { return generation_ != seen && index < active_; });
                seen = generation_;
                job = job_;
            }
            run_blocks(*job);
            std::lock_guard<std::mutex> lock(mutex_);
            if (--pending_ == 0) done_.notify_all();
        }
    }

    std::mutex mutex_;
    std::condition_variable wake_, done_;
    std::vector<std::thread> workers_;
    Launch* job_ = nullptr;
    int active_ = 0, pending_ = 0;
    uint64_t generation_ = 0;
};

Pool& pool() {
    static Pool* p = new Pool();  // never destroyed: its threads outlive static destruction at exit
    return *p;
}

int threads_for(long blocks) {
    int t = host_threads.load();
    if (t <= 0) {
        const char* env = std::getenv("TFEMU_THREADS");
        t = env != nullptr ? std::atoi(env) : static_cast<int>(std::thread::hardware_concurrency());
    }
    return static_cast<int>(std::max<long>(1, std::min<long>(std::max(t, 1), blocks)));
}

}  // namespace

int tfemu::compute_capability() { return ::compute_capability.load(); }

extern "C" {

/** Emulator settings: reverse != 0 runs a block's threads in reverse order between barriers; threads > 0 fixes the
 *  number of host threads running blocks (default: TFEMU_THREADS, else the number of cores); compute_capability
 *  > 0 sets the GPU generation the device reports (75, 80, 86, 89, 90; default 90) and with it the shared-memory
 *  opt-in limit. */
int tfemu_configure(int reverse, int threads, int compute_capability_value) {
    if (compute_capability_value != 0 && (compute_capability_value < 75 || compute_capability_value > 120)) {
        return INVALID_VALUE;
    }
    reverse_order.store(reverse != 0);
    host_threads.store(threads);
    if (compute_capability_value > 0) compute_capability.store(compute_capability_value);
    return SUCCESS;
}

int cuInit(unsigned) {
    initialized.store(true);
    return SUCCESS;
}

int cuDriverGetVersion(int* version) {
    *version = 13000;
    return SUCCESS;
}

int cuDeviceGetCount(int* count) {
    *count = 1;
    return SUCCESS;
}

int cuDeviceGet(int* device, int ordinal) {
    if (ordinal != 0) return INVALID_DEVICE;
    *device = 0;
    return SUCCESS;
}

int cuDeviceGetName(char* name, int length, int device) {
    if (device != 0) return INVALID_DEVICE;
    std::snprintf(name, static_cast<size_t>(length), "TexForce CUDA host emulator");
    return SUCCESS;
}

int cuDeviceGetAttribute(int* value, int attribute, int device) {
    if (device != 0) return INVALID_DEVICE;
    switch (attribute) {
        case 16: *value = kMultiprocessors; return SUCCESS;   // MULTIPROCESSOR_COUNT
        case 75: *value = compute_capability.load() / 10; return SUCCESS;  // COMPUTE_CAPABILITY_MAJOR
        case 76: *value = compute_capability.load() % 10; return SUCCESS;  // COMPUTE_CAPABILITY_MINOR
        case 97: *value = shared_opt_in(); return SUCCESS;       // MAX_SHARED_MEMORY_PER_BLOCK_OPTIN
        default:
            std::fprintf(stderr, "tfemu: cuDeviceGetAttribute: attribute %d is not emulated\n", attribute);
            return INVALID_VALUE;
    }
}

int cuDevicePrimaryCtxRetain(void** context, int device) {
    if (device != 0) return INVALID_DEVICE;
    static int the_context;
    *context = &the_context;
    return SUCCESS;
}

int cuCtxSetCurrent(void*) { return SUCCESS; }

int cuCtxSynchronize() {
    tfemu::flush_pending_copies();  // launches have finished when cuLaunchKernel returns; queued copies run now
    return SUCCESS;
}

int cuMemAlloc_v2(uint64_t* pointer, size_t bytes) {
    if (!initialized.load()) return NOT_INITIALIZED;
    uint64_t p = tfemu::allocate(bytes);
    if (p == 0) return OUT_OF_MEMORY;
    *pointer = p;
    return SUCCESS;
}

int cuMemFree_v2(uint64_t pointer) {
    if (tfemu::release(pointer)) return SUCCESS;
    std::fprintf(stderr, "tfemu: cuMemFree of %llu, which is not a live allocation\n",
                 static_cast<unsigned long long>(pointer));
    return INVALID_VALUE;
}

int cuMemGetInfo_v2(size_t* free, size_t* total) {
    *total = tfemu::total_bytes();
    *free = *total - tfemu::bytes_in_use();
    return SUCCESS;
}

int cuMemcpyHtoD_v2(uint64_t dst, const void* src, size_t bytes) {
    tfemu::flush_pending_copies();
    if (bytes == 0) return SUCCESS;
    if (!checked(dst, bytes, "cuMemcpyHtoD destination")) return INVALID_VALUE;
    std::memcpy(reinterpret_cast<void*>(dst), src, bytes);
    return SUCCESS;
}

int cuMemcpyDtoH_v2(void* dst, uint64_t src, size_t bytes) {
    tfemu::flush_pending_copies();
    if (bytes == 0) return SUCCESS;
    if (!checked(src, bytes, "cuMemcpyDtoH source")) return INVALID_VALUE;
    std::memcpy(dst, reinterpret_cast<const void*>(src), bytes);
    return SUCCESS;
}

int cuMemcpyDtoD_v2(uint64_t dst, uint64_t src, size_t bytes) {
    tfemu::flush_pending_copies();
    if (bytes == 0) return SUCCESS;
    if (!checked(dst, bytes, "cuMemcpyDtoD destination") || !checked(src, bytes, "cuMemcpyDtoD source")) {
        return INVALID_VALUE;
    }
    std::memmove(reinterpret_cast<void*>(dst), reinterpret_cast<const void*>(src), bytes);
    return SUCCESS;
}

int cuMemsetD32_v2(uint64_t dst, unsigned value, size_t count) {
    tfemu::flush_pending_copies();
    if (count == 0) return SUCCESS;
    if (dst % 4 != 0 || !checked(dst, count * 4, "cuMemsetD32")) return INVALID_VALUE;
    auto* p = reinterpret_cast<unsigned*>(dst);
    std::fill(p, p + count, value);
    return SUCCESS;
}

int cuMemHostAlloc(void** pointer, size_t bytes, unsigned flags) {
    if (flags != 0) {
        std::fprintf(stderr, "tfemu: cuMemHostAlloc: flags %u are not emulated\n", flags);
        return INVALID_VALUE;
    }
    *pointer = tfemu::allocate_host(bytes);
    return *pointer != nullptr ? SUCCESS : OUT_OF_MEMORY;
}

int cuMemFreeHost(void* pointer) { return tfemu::release_host(pointer) ? SUCCESS : INVALID_VALUE; }

// Asynchronous: performed at the next ordering point (memory.h). The source must be page-locked, which is what lets
// a GPU copy it after the call returns; from pageable memory the driver would copy synchronously.
int cuMemcpyHtoDAsync_v2(uint64_t dst, const void* src, size_t bytes, void* stream) {
    if (stream != nullptr) {
        std::fprintf(stderr, "tfemu: cuMemcpyHtoDAsync: only the default stream is emulated\n");
        return INVALID_VALUE;
    }
    if (bytes == 0) return SUCCESS;
    if (!tfemu::in_host_allocation(src, bytes)) {
        std::fprintf(stderr, "tfemu: cuMemcpyHtoDAsync: the %zu source bytes are not in one cuMemHostAlloc buffer "
                     "(an asynchronous copy from pageable memory is synchronous)\n", bytes);
        return INVALID_VALUE;
    }
    if (!checked(dst, bytes, "cuMemcpyHtoDAsync destination")) return INVALID_VALUE;
    tfemu::queue_copy(dst, src, bytes);
    return SUCCESS;
}

// Events order by flushing: everything queued before a record has run once the event is waited for.
int cuEventCreate(void** event, unsigned) {
    *event = new int(0);
    return SUCCESS;
}

int cuEventRecord(void* event, void* stream) {
    if (event == nullptr || stream != nullptr) return INVALID_VALUE;
    return SUCCESS;
}

int cuEventSynchronize(void* event) {
    if (event == nullptr) return INVALID_HANDLE;
    tfemu::flush_pending_copies();
    return SUCCESS;
}

int cuModuleLoadData(void** module, const void*) {
    // The image (SASS/PTX) is not for this device; the module is the emulator's compiled-in kernel registry.
    *module = &functions();
    return SUCCESS;
}

int cuModuleGetFunction(void** function, void* module, const char* name) {
    if (module != &functions()) return INVALID_HANDLE;
    for (FunctionState& f : functions()) {
        if (std::strcmp(f.entry->name, name) == 0) {
            *function = &f;
            return SUCCESS;
        }
    }
    std::fprintf(stderr, "tfemu: cuModuleGetFunction: no kernel named %s\n", name);
    return NOT_FOUND;
}

int cuFuncSetAttribute(void* function, int attribute, int value) {
    auto* f = static_cast<FunctionState*>(function);
    if (attribute != 8) {  // MAX_DYNAMIC_SHARED_SIZE_BYTES
        std::fprintf(stderr, "tfemu: cuFuncSetAttribute: attribute %d is not emulated\n", attribute);
        return INVALID_VALUE;
    }
    if (value < 0 || value > shared_opt_in()) return INVALID_VALUE;
    f->max_dynamic_shared = value;
    return SUCCESS;
}

int cuLaunchKernel(void* function, unsigned gx, unsigned gy, unsigned gz, unsigned bx, unsigned by, unsigned bz,
                   unsigned shared_bytes, void* stream, void** params, void** extra) {
    auto* f = static_cast<FunctionState*>(function);
    const char* name = f->entry->name;
    if (stream != nullptr || extra != nullptr) {
        fail(std::string(name) + ": only the default stream and kernelParams are emulated");
        return INVALID_VALUE;
    }
    const unsigned long threads = static_cast<unsigned long>(bx) * by * bz;
    if (gx == 0 || gy == 0 || gz == 0 || threads == 0 || threads > 1024 || gy > 65535 || gz > 65535) {
        fail(std::string(name) + ": invalid launch grid " + std::to_string(gx) + "x"
                                + std::to_string(gy) + "x" + std::to_string(gz) + ", block " + std::to_string(bx)
                                + "x" + std::to_string(by) + "x" + std::to_string(bz));
        return INVALID_VALUE;
    }
    if (static_cast<int>(shared_bytes) > f->max_dynamic_shared) {
        fail(std::string(name) + ": " + std::to_string(shared_bytes)
                                + " bytes of dynamic shared memory exceed the function's limit of "
                                + std::to_string(f->max_dynamic_shared) + " (cuFuncSetAttribute opts into more)");
        return INVALID_VALUE;
    }
    // One launch at a time, as on a GPU's default stream (and the pool serves one launch at a time).
    static std::mutex launch_mutex;
    std::lock_guard<std::mutex> serial(launch_mutex);
    tfemu::flush_pending_copies();  // copies queued before the launch run before it
    Launch l;
    l.entry = f->entry;
    l.params = params;
    l.grid = dim3(gx, gy, gz);
    l.block = dim3(bx, by, bz);
    l.shared_bytes = shared_bytes;
    l.reverse = reverse_order.load();
    l.blocks = static_cast<long>(gx) * gy * gz;
    pool().run(l, threads_for(l.blocks));
    if (!l.error.empty()) {
        fail(l.error);
        return LAUNCH_FAILED;
    }
    return SUCCESS;
}

int cuGetErrorName(int code, const char** name) {
    switch (code) {
        case SUCCESS: *name = "CUDA_SUCCESS"; return SUCCESS;
        case INVALID_VALUE: *name = "CUDA_ERROR_INVALID_VALUE"; return SUCCESS;
        case OUT_OF_MEMORY: *name = "CUDA_ERROR_OUT_OF_MEMORY"; return SUCCESS;
        case NOT_INITIALIZED: *name = "CUDA_ERROR_NOT_INITIALIZED"; return SUCCESS;
        case INVALID_DEVICE: *name = "CUDA_ERROR_INVALID_DEVICE"; return SUCCESS;
        case INVALID_HANDLE: *name = "CUDA_ERROR_INVALID_HANDLE"; return SUCCESS;
        case NOT_FOUND: *name = "CUDA_ERROR_NOT_FOUND"; return SUCCESS;
        case ILLEGAL_ADDRESS: *name = "CUDA_ERROR_ILLEGAL_ADDRESS"; return SUCCESS;
        case LAUNCH_OUT_OF_RESOURCES: *name = "CUDA_ERROR_LAUNCH_OUT_OF_RESOURCES"; return SUCCESS;
        case LAUNCH_FAILED: *name = "CUDA_ERROR_LAUNCH_FAILED"; return SUCCESS;
        default: *name = nullptr; return INVALID_VALUE;
    }
}

}  // extern "C"
