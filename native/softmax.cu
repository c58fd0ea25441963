// Softmax over the last dim of a dense [rows, cols] matrix, one block per row. x and gy may be 16-bit (Typed); the
// probabilities and gradients are float32 (autocast's float32 list).
#include "common.cuh"
#include "typed.cuh"

extern "C" __global__ void softmax_forward(Typed x, float* __restrict__ y, int cols) {
    __shared__ float fscratch[32];
    __shared__ double dscratch[32];
    size_t base = (size_t) blockIdx.x * cols;
    float m = -INFINITY;
    for (int i = threadIdx.x; i < cols; i += blockDim.x) m = fmaxf(m, x.load(base + i));
    m = tf_block_max(m, fscratch);
    double s = 0;
    for (int i = threadIdx.x; i < cols; i += blockDim.x) {
        float e = expf(x.load(base + i) - m);
        y[base + i] = e;
        s += e;
    }
    float inv = (float) (1.0 / tf_block_sum(s, dscratch));
    for (int i = threadIdx.x; i < cols; i += blockDim.x) y[base + i] *= inv;
}

// gx = y * (gy - sum(gy * y)).
extern "C" __global__ void softmax_backward(Typed gy, const float* __restrict__ y, float* __restrict__ gx,
                                            int cols) {
    __shared__ double scratch[32];
    size_t base = (size_t) blockIdx.x * cols;
    double dot = 0;
    for (int i = threadIdx.x; i < cols; i += blockDim.x) dot += (double) gy.load(base + i) * y[base + i];
    float d = (float) tf_block_sum(dot, scratch);
    for (int i = threadIdx.x; i < cols; i += blockDim.x) gx[base + i] = y[base + i] * (gy.load(base + i) - d);
}
