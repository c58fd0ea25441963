// Nearest-neighbour x2 upsampling of planes [planes, h, w] to [planes, 2h, 2w], and its adjoint. The backward
// gathers the four sources of each input pixel, so it needs no atomics.
#include "common.cuh"
#include "typed.cuh"

extern "C" __global__ void upsample_nearest2x_forward(Typed x, Typed y, int planes, int h, int w) {
    int oh = 2 * h, ow = 2 * w;
    TF_FOR(i, planes * oh * ow) {
        int xx = i % ow, yy = i / ow % oh, p = i / (ow * oh);
        y.store(i, x.load(((size_t) p * h + yy / 2) * w + xx / 2));
    }
}

extern "C" __global__ void upsample_nearest2x_backward(Typed gy, Typed gx, int planes, int h, int w) {
    int ow = 2 * w;
    TF_FOR(i, planes * h * w) {
        int xx = i % w, yy = i / w % h, p = i / (w * h);
        size_t g = ((size_t) p * 2 * h + 2 * yy) * ow + 2 * xx;
        gx.store(i, ((gy.load(g) + gy.load(g + 1)) + gy.load(g + ow)) + gy.load(g + ow + 1));  // the CPU's order
    }
}
