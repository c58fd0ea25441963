// GEGLU over x [rows, 2h]: the first half of each row is the value, the second the gate; y [rows, h].
#include "common.cuh"

extern "C" __global__ void geglu_forward(const float* __restrict__ x, float* __restrict__ y, int rows, int h) {
    TF_FOR(i, rows * h) {
        int r = i / h, j = i % h;
        const float* xr = x + (size_t) r * 2 * h;
        y[i] = xr[j] * tf_gelu(xr[h + j]);
    }
}

// gx [rows, 2h] from gy [rows, h]: d/dvalue = gy * gelu(gate), d/dgate = gy * value * gelu'(gate).
extern "C" __global__ void geglu_backward(const float* __restrict__ gy, const float* __restrict__ x,
                                          float* __restrict__ gx, int rows, int h) {
    TF_FOR(i, rows * h) {
        int r = i / h, j = i % h;
        size_t base = (size_t) r * 2 * h;
        float value = x[base + j], gate = x[base + h + j], g = gy[i];
        gx[base + j] = g * tf_gelu(gate);
        gx[base + h + j] = g * value * tf_gelu_grad(gate);
    }
}
