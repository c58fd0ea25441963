// Convolution as GEMM: im2col unfolds x [n, c, h, w] into columns [n, c * kh * kw, oh * ow] that cuBLAS multiplies
// with the weight [o, c * kh * kw] (float32 columns, or 16-bit ones for a 16-bit GEMM); col2im folds column
// gradients back onto the input. Activations and columns are Typed (any format, float32 arithmetic). col2im gathers, for each input pixel, the column entries that read it, so it needs
// no atomics.
#include "common.cuh"
#include "typed.cuh"

// Columns in the format of `col` (float32, or the 16-bit format of the GEMM they feed, each value rounded as it is
// written rather than converted afterwards) from x in any format.
extern "C" __global__ void im2col(Typed x, Typed col, int n, int c, int h, int w, int kh, int kw, int oh, int ow,
                                  int stride, int pad) {
    int plane = oh * ow, rows = c * kh * kw;
    TF_FOR(i, n * rows * plane) {
        int p = i % plane, row = i / plane % rows, b = i / (plane * rows);
        int kj = row % kw, ki = row / kw % kh, ch = row / (kw * kh);
        int oy = p / ow, ox = p % ow;
        int iy = oy * stride - pad + ki, ix = ox * stride - pad + kj;
        col.store(i, (iy >= 0 && iy < h && ix >= 0 && ix < w) ? x.load((((size_t) b * c + ch) * h + iy) * w + ix)
                                                               : 0.0f);
    }
}

extern "C" __global__ void col2im(Typed col, Typed gx, int n, int c, int h, int w, int kh, int kw, int oh, int ow,
                                  int stride, int pad) {
    int plane = oh * ow, rows = c * kh * kw;
    TF_FOR(i, n * c * h * w) {
        int ix = i % w, iy = i / w % h, ch = i / (w * h) % c, b = i / (w * h * c);
        float acc = 0.0f;
        for (int ki = 0; ki < kh; ki++) {
            int ty = iy + pad - ki;
            if (ty < 0 || ty % stride != 0 || ty / stride >= oh) continue;
            for (int kj = 0; kj < kw; kj++) {
                int tx = ix + pad - kj;
                if (tx < 0 || tx % stride != 0 || tx / stride >= ow) continue;
                int row = (ch * kh + ki) * kw + kj;
                acc += col.load(((size_t) b * rows + row) * plane + (ty / stride) * ow + tx / stride);
            }
        }
        gx.store(i, acc);
    }
}

// y [n, o, plane] += bias[o].
extern "C" __global__ void add_channel_bias(Typed y, const float* __restrict__ bias, int n, int o, int plane) {
    TF_FOR(i, n * o * plane) {
        y.store(i, y.load(i) + bias[i / plane % o]);
    }
}
