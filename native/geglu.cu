// GEGLU over x [rows, 2h]: the first half of each row is the value, the second the gate; y [rows, h].
#include "common.cuh"
#include "typed.cuh"

extern "C" __global__ void geglu_forward(Typed x, Typed y, int rows, int h) {
    TF_FOR(i, rows * h) {
        int r = i / h, j = i % h;
        size_t base = (size_t) r * 2 * h;
        y.store(i, x.load(base + j) * tf_gelu(x.load(base + h + j)));
    }
}

// gx [rows, 2h] from gy [rows, h]: d/dvalue = gy * gelu(gate), d/dgate = gy * value * gelu'(gate).
extern "C" __global__ void geglu_backward(Typed gy, Typed x, Typed gx, int rows, int h) {
    TF_FOR(i, rows * h) {
        int r = i / h, j = i % h;
        size_t base = (size_t) r * 2 * h;
        float value = x.load(base + j), gate = x.load(base + h + j), g = gy.load(i);
        gx.store(base + j, g * tf_gelu(gate));
        gx.store(base + h + j, g * value * tf_gelu_grad(gate));
    }
}
