// Fibers and barriers of the CUDA host emulator (see fiber.h).
#include "fiber.h"

#include <sys/mman.h>

#include <cstdio>
#include <cstdlib>
#include <cstring>

namespace tfemu {

namespace {

// Large enough for the deepest kernel's locals (register arrays of a few KB) with a wide margin; only the pages a
// fiber touches are ever backed by memory.
constexpr size_t kStackBytes = 256 * 1024;
constexpr size_t kGuardBytes = 4096;

thread_local Block tls_block;
thread_local std::vector<unsigned char*> tls_stacks;
thread_local void (*tls_body)(void*) = nullptr;
thread_local void* tls_arg = nullptr;

unsigned char* stack_for(size_t index) {
    while (tls_stacks.size() <= index) {
        void* p = mmap(nullptr, kStackBytes + kGuardBytes, PROT_READ | PROT_WRITE,
                       MAP_PRIVATE | MAP_ANONYMOUS | MAP_NORESERVE, -1, 0);
        if (p == MAP_FAILED) {
            std::fprintf(stderr, "tfemu: cannot map a fiber stack\n");
            std::abort();
        }
        // The lowest page stays unmapped so that a stack overflow faults instead of corrupting a neighbour.
        mprotect(p, kGuardBytes, PROT_NONE);
        tls_stacks.push_back(static_cast<unsigned char*>(p) + kGuardBytes);
    }
    return tls_stacks[index];
}

}  // namespace

Block& block() { return tls_block; }

}  // namespace tfemu

#if defined(__x86_64__)
// Saves the callee-saved registers, MXCSR and the x87 control word of the running context on its stack, stores its
// stack pointer in *from and resumes the context whose stack pointer is `to` (System V AMD64 ABI).
extern "C" void tfemu_switch(void** from, void* to);
asm(R"(
    .text
    .globl tfemu_switch
    .type tfemu_switch, @function
tfemu_switch:
    pushq %rbp
    pushq %rbx
    pushq %r12
    pushq %r13
    pushq %r14
    pushq %r15
    subq $8, %rsp
    stmxcsr (%rsp)
    fnstcw 4(%rsp)
    movq %rsp, (%rdi)
    movq %rsi, %rsp
    ldmxcsr (%rsp)
    fldcw 4(%rsp)
    addq $8, %rsp
    popq %r15
    popq %r14
    popq %r13
    popq %r12
    popq %rbx
    popq %rbp
    ret
    .size tfemu_switch, .-tfemu_switch
    .section .note.GNU-stack,"",@progbits
    .text
)");
#else
#error "the CUDA host emulator's context switch is written for x86-64"
#endif

namespace tfemu {

namespace {

void release_if_complete(Barrier& b) {
    if (b.arrived > 0 && b.arrived >= b.live) {
        b.arrived = 0;
        b.generation++;
    }
}

[[noreturn]] void fiber_entry() {
    Block& blk = tls_block;
    Fiber* f = blk.current;
    tls_body(tls_arg);
    f->done = true;
    blk.block_barrier.live--;
    release_if_complete(blk.block_barrier);
    Barrier& w = blk.warp_barriers[f->linear / 32];
    w.live--;
    release_if_complete(w);
    tfemu_switch(&f->sp, blk.scheduler_sp);
    std::abort();  // a finished fiber is never resumed
}

// A fresh fiber's stack, laid out as tfemu_switch leaves a switched-out one, returning into fiber_entry with the
// stack aligned as after a call.
void* initial_stack(unsigned char* stack) {
    auto* top = reinterpret_cast<uint64_t*>(stack + kStackBytes);
    *--top = 0;                                                 // fiber_entry's (never used) return address
    *--top = reinterpret_cast<uint64_t>(&fiber_entry);          // where tfemu_switch's ret goes
    for (int i = 0; i < 6; i++) *--top = 0;                     // rbp rbx r12 r13 r14 r15
    *--top = 0x1F80ull | (0x037Full << 32);                     // default MXCSR and x87 control word
    return top;
}

void wait_on(Barrier& b) {
    Block& blk = tls_block;
    Fiber* f = blk.current;
    b.arrived++;
    if (b.arrived >= b.live) {
        b.arrived = 0;
        b.generation++;
        return;
    }
    f->waiting_on = &b.generation;
    f->waiting_for = b.generation;
    tfemu_switch(&f->sp, blk.scheduler_sp);
}

}  // namespace

void sync_block() { wait_on(tls_block.block_barrier); }

void sync_warp() {
    Block& blk = tls_block;
    wait_on(blk.warp_barriers[blk.current->linear / 32]);
}

bool run_block(void (*body)(void*), void* arg, bool reverse, const char* kernel, char* error, size_t error_size) {
    Block& blk = tls_block;
    const int n = static_cast<int>(blk.block_dim.x * blk.block_dim.y * blk.block_dim.z);
    const int warps = (n + 31) / 32;
    blk.fibers.assign(n, Fiber{});
    blk.warp_barriers.assign(warps, Barrier{});
    blk.shuffle_slots.assign(n, 0);
    blk.block_barrier = Barrier{n, 0, 0};
    for (int w = 0; w < warps; w++) blk.warp_barriers[w].live = (w + 1) * 32 <= n ? 32 : n - w * 32;
    for (int i = 0; i < n; i++) {
        Fiber& f = blk.fibers[i];
        f.linear = i;
        f.thread_idx = uint3{i % blk.block_dim.x, (i / blk.block_dim.x) % blk.block_dim.y,
                             i / (blk.block_dim.x * blk.block_dim.y)};
        f.stack = stack_for(i);
        f.sp = initial_stack(f.stack);
    }
    tls_body = body;
    tls_arg = arg;
    int remaining = n;
    while (remaining > 0) {
        bool progressed = false;
        for (int k = 0; k < n; k++) {
            Fiber& f = blk.fibers[reverse ? n - 1 - k : k];
            if (f.done || (f.waiting_on != nullptr && *f.waiting_on == f.waiting_for)) continue;
            f.waiting_on = nullptr;
            blk.current = &f;
            tfemu_switch(&blk.scheduler_sp, f.sp);
            progressed = true;
            if (f.done) remaining--;
        }
        if (!progressed) {
            int at_block = 0, at_warp = 0, first_block = -1, first_warp = -1;
            for (const Fiber& f : blk.fibers) {
                if (f.done) continue;
                if (f.waiting_on == &blk.block_barrier.generation) {
                    at_block++;
                    if (first_block < 0) first_block = f.linear;
                } else {
                    at_warp++;
                    if (first_warp < 0) first_warp = f.linear;
                }
            }
            std::snprintf(error, error_size,
                          "deadlock in kernel %s, block (%u, %u, %u) of %d threads: %d thread(s) wait at "
                          "__syncthreads (first: %d), %d at a warp barrier (__syncwarp or a shuffle; first: %d), "
                          "%d have exited",
                          kernel, blk.block_idx.x, blk.block_idx.y, blk.block_idx.z, n, at_block, first_block,
                          at_warp, first_warp, n - remaining);
            blk.current = nullptr;
            return false;
        }
    }
    blk.current = nullptr;
    return true;
}

}  // namespace tfemu
