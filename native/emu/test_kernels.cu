// Deliberately broken kernels, compiled only into the CUDA host emulator, with which CudaEmulatorSelfTest shows
// that the emulator catches what it claims to catch.
#include "common.cuh"

// Writes shared memory and reads a neighbour's slot without a barrier in between: a race. Run with the threads in
// forward order, each reads its neighbour's old value; in reverse order, the new one.
extern "C" __global__ void tfemu_test_missing_barrier(float* __restrict__ out) {
    __shared__ float buf[1024];
    const int t = threadIdx.x, n = blockDim.x;
    buf[t] = -1.0f;
    __syncthreads();
    buf[t] = (float) t;
    out[t] = buf[(t + 1) % n];  // needs a __syncthreads() before it
}

// Half of a warp waits at __syncwarp, the other half at __syncthreads: neither barrier can complete.
extern "C" __global__ void tfemu_test_divergent_barrier(float* __restrict__ out) {
    if (threadIdx.x < 16) {
        __syncwarp();
    } else {
        __syncthreads();
    }
    out[threadIdx.x] = 1.0f;
}
