// Softmax over the last dim of a dense [rows, cols] matrix, one block per row.
#include "common.cuh"

extern "C" __global__ void softmax_forward(const float* __restrict__ x, float* __restrict__ y, int cols) {
    __shared__ float fscratch[32];
    __shared__ double dscratch[32];
    size_t base = (size_t) blockIdx.x * cols;
    float m = -INFINITY;
    for (int i = threadIdx.x; i < cols; i += blockDim.x) m = fmaxf(m, x[base + i]);
    m = tf_block_max(m, fscratch);
    double s = 0;
    for (int i = threadIdx.x; i < cols; i += blockDim.x) {
        float e = expf(x[base + i] - m);
        y[base + i] = e;
        s += e;
    }
    float inv = (float) (1.0 / tf_block_sum(s, dscratch));
    for (int i = threadIdx.x; i < cols; i += blockDim.x) y[base + i] *= inv;
}

// gx = y * (gy - sum(gy * y)).
extern "C" __global__ void softmax_backward(const float* __restrict__ gy, const float* __restrict__ y,
                                            float* __restrict__ gx, int cols) {
    __shared__ double scratch[32];
    size_t base = (size_t) blockIdx.x * cols;
    double dot = 0;
    for (int i = threadIdx.x; i < cols; i += blockDim.x) dot += (double) gy[base + i] * y[base + i];
    float d = (float) tf_block_sum(dot, scratch);
    for (int i = threadIdx.x; i < cols; i += blockDim.x) gx[base + i] = y[base + i] * (gy[base + i] - d);
}
