// Fibers and barriers of the CUDA host emulator (see fiber.h).
#include "fiber.h"

#include <sys/mman.h>

#include <cstdio>
#include <cstdlib>
#include <cstring>

namespace tfemu {

namespace {

thread_local std::vector<unsigned char*>* tls_stacks_ptr = nullptr;
thread_local Block* current_block = nullptr;

unsigned char* stack_for(size_t index) {
    if (tls_stacks_ptr == nullptr) tls_stacks_ptr = new std::vector<unsigned char*>();  // kept for the thread's life
    std::vector<unsigned char*>& tls_stacks = *tls_stacks_ptr;
    while (tls_stacks.size() <= index) {
        // Map twice the size and keep the aligned half (see fiber.h); only touched pages are ever backed.
        void* p = mmap(nullptr, 2 * kStackBytes, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS | MAP_NORESERVE,
                       -1, 0);
        if (p == MAP_FAILED) {
            std::fprintf(stderr, "tfemu: cannot map a fiber stack\n");
            std::abort();
        }
        const uintptr_t start = reinterpret_cast<uintptr_t>(p);
        const uintptr_t aligned = (start + kStackBytes - 1) & ~(kStackBytes - 1);
        if (aligned > start) munmap(p, aligned - start);
        if (start + kStackBytes > aligned) {
            munmap(reinterpret_cast<void*>(aligned + kStackBytes), start + kStackBytes - aligned);
        }
        // The lowest page stays inaccessible so that a stack overflow faults instead of corrupting a neighbour.
        mprotect(reinterpret_cast<void*>(aligned), kGuardBytes, PROT_NONE);
        tls_stacks.push_back(reinterpret_cast<unsigned char*>(aligned));
    }
    return tls_stacks[index];
}

}  // namespace

Block& bind_block() {
    if (current_block == nullptr) current_block = new Block();  // kept for the thread's life
    return *current_block;
}

}  // namespace tfemu

#if defined(__x86_64__)
// Saves the callee-saved registers of the running context on its stack, stores its stack pointer in *from and
// resumes the context whose stack pointer is `to` (System V AMD64 ABI). MXCSR and the x87 control word are left
// alone: kernels never change them. (A switch's cost is the cache misses on the next fiber's stack, which is why
// fibers hand over directly to one another and their stacks are staggered.)
extern "C" void tfemu_switch(void** from, void* to);
asm(R"(
    .text
    .globl tfemu_switch
    .hidden tfemu_switch
    .type tfemu_switch, @function
tfemu_switch:
    pushq %rbp
    pushq %rbx
    pushq %r12
    pushq %r13
    pushq %r14
    pushq %r15
    movq %rsp, (%rdi)
    movq %rsi, %rsp
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

bool runnable(const Fiber& f) {
    return !f.done && (f.waiting_on == nullptr || *f.waiting_on != f.waiting_for);
}

// The next runnable fiber of the current pass over the block in schedule order, made current; null at the pass's end.
Fiber* next_in_pass(Block& blk) {
    const int n = static_cast<int>(blk.fibers.size());
    while (++blk.position < n) {
        Fiber& f = blk.fibers[blk.reverse ? n - 1 - blk.position : blk.position];
        if (runnable(f)) {
            f.waiting_on = nullptr;
            blk.current = &f;
            return &f;
        }
    }
    return nullptr;
}

// Where a fiber that stops (at a barrier or at its end) switches to: straight to the next fiber of the pass, which
// halves the switches a barrier costs, or back to the scheduler to start the next pass.
void* hand_over(Block& blk) {
    Fiber* next = next_in_pass(blk);
    return next != nullptr ? next->sp : blk.scheduler_sp;
}

[[noreturn]] void fiber_entry() {
    Fiber* f = &this_fiber();
    Block& blk = *f->block;
    blk.body(blk.arg);
    f->done = true;
    blk.block_barrier.live--;
    release_if_complete(blk.block_barrier);
    Barrier& w = blk.warp_barriers[f->linear / 32];
    w.live--;
    release_if_complete(w);
    blk.remaining--;
    tfemu_switch(&f->sp, hand_over(blk));
    std::abort();  // a finished fiber is never resumed
}

// A fresh fiber's stack, laid out as tfemu_switch leaves a switched-out one, returning into fiber_entry with the
// stack aligned as after a call.
void* initial_stack(Fiber* fiber, unsigned char* stack, int index) {
    *reinterpret_cast<Fiber**>(stack + kGuardBytes) = fiber;
    // Stack tops at one offset in equally aligned regions would all fall in the same cache sets; a switch touches
    // the top of the next fiber's stack, so they are staggered by a few cache lines per fiber.
    const size_t stagger = static_cast<size_t>(index) * 3 * 64 % (32 * 1024);
    auto* top = reinterpret_cast<uint64_t*>(stack + kStackBytes - stagger);
    *--top = 0;                                                 // fiber_entry's (never used) return address
    *--top = reinterpret_cast<uint64_t>(&fiber_entry);          // where tfemu_switch's ret goes
    for (int i = 0; i < 6; i++) *--top = 0;                     // rbp rbx r12 r13 r14 r15
    return top;
}

void wait_on(Barrier& b) {
    Fiber* f = &this_fiber();
    Block& blk = *f->block;
    b.arrived++;
    if (b.arrived >= b.live) {
        b.arrived = 0;
        b.generation++;
        return;
    }
    f->waiting_on = &b.generation;
    f->waiting_for = b.generation;
    tfemu_switch(&f->sp, hand_over(blk));
}

}  // namespace

void sync_block() { wait_on(block().block_barrier); }

void sync_warp() {
    Fiber& f = this_fiber();
    wait_on(f.block->warp_barriers[f.linear / 32]);
}

bool run_block(void (*body)(void*), void* arg, bool reverse, const char* kernel, char* error, size_t error_size) {
    Block& blk = bind_block();
    const int n = static_cast<int>(blk.block_dim.x * blk.block_dim.y * blk.block_dim.z);
    const int warps = (n + 31) / 32;
    blk.fibers.assign(n, Fiber{});
    blk.warp_barriers.assign(warps, Barrier{});
    blk.shuffle_slots.assign(2 * n, 0);
    blk.block_barrier = Barrier{n, 0, 0};
    for (int w = 0; w < warps; w++) blk.warp_barriers[w].live = (w + 1) * 32 <= n ? 32 : n - w * 32;
    for (int i = 0; i < n; i++) {
        Fiber& f = blk.fibers[i];
        f.linear = i;
        f.thread_idx = uint3{i % blk.block_dim.x, (i / blk.block_dim.x) % blk.block_dim.y,
                             i / (blk.block_dim.x * blk.block_dim.y)};
        f.block = &blk;
        f.stack = stack_for(i);
        f.sp = initial_stack(&f, f.stack, i);
    }
    blk.body = body;
    blk.arg = arg;
    blk.reverse = reverse;
    blk.remaining = n;
    while (blk.remaining > 0) {
        blk.position = -1;
        Fiber* first = next_in_pass(blk);
        if (first != nullptr) {
            tfemu_switch(&blk.scheduler_sp, first->sp);  // runs the pass; back here at its end
        } else {
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
                          at_warp, first_warp, n - blk.remaining);
            blk.current = nullptr;
            return false;
        }
    }
    blk.current = nullptr;
    return true;
}

}  // namespace tfemu
