// Convolution as GEMM: im2col unfolds x [n, c, h, w] into columns [n, c * kh * kw, oh * ow] that cuBLAS multiplies
// with the weight [o, c * kh * kw] (float32 columns, or 16-bit ones for a 16-bit weight); col2im folds column
// gradients back onto the input. col2im gathers, for each input pixel, the column entries that read it, so it needs
// no atomics.
#include "common.cuh"
#include "half.cuh"

// float32 columns: the value as it is.
struct Fp32 {
    __device__ __forceinline__ static float store(float v) { return v; }
};

// Columns of element type Out, each value stored through F (a 16-bit GEMM takes its columns rounded to the weight's
// format, written once here rather than converted afterwards).
template <typename Out, class F>
__device__ void im2col_into(const float* __restrict__ x, Out* __restrict__ col, int n, int c, int h, int w, int kh,
                            int kw, int oh, int ow, int stride, int pad) {
    int plane = oh * ow, rows = c * kh * kw;
    TF_FOR(i, n * rows * plane) {
        int p = i % plane, row = i / plane % rows, b = i / (plane * rows);
        int kj = row % kw, ki = row / kw % kh, ch = row / (kw * kh);
        int oy = p / ow, ox = p % ow;
        int iy = oy * stride - pad + ki, ix = ox * stride - pad + kj;
        col[i] = F::store((iy >= 0 && iy < h && ix >= 0 && ix < w) ? x[(((size_t) b * c + ch) * h + iy) * w + ix]
                                                                    : 0.0f);
    }
}

extern "C" __global__ void im2col(const float* __restrict__ x, float* __restrict__ col, int n, int c, int h, int w,
                                  int kh, int kw, int oh, int ow, int stride, int pad) {
    im2col_into<float, Fp32>(x, col, n, c, h, w, kh, kw, oh, ow, stride, pad);
}

extern "C" __global__ void im2col_bf16(const float* __restrict__ x, uint16_t* __restrict__ col, int n, int c, int h,
                                       int w, int kh, int kw, int oh, int ow, int stride, int pad) {
    im2col_into<uint16_t, Bf16>(x, col, n, c, h, w, kh, kw, oh, ow, stride, pad);
}

extern "C" __global__ void im2col_fp16(const float* __restrict__ x, uint16_t* __restrict__ col, int n, int c, int h,
                                       int w, int kh, int kw, int oh, int ow, int stride, int pad) {
    im2col_into<uint16_t, Fp16>(x, col, n, c, h, w, kh, kw, oh, ow, stride, pad);
}

extern "C" __global__ void col2im(const float* __restrict__ col, float* __restrict__ gx, int n, int c, int h, int w,
                                  int kh, int kw, int oh, int ow, int stride, int pad) {
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
                acc += col[((size_t) b * rows + row) * plane + (ty / stride) * ow + tx / stride];
            }
        }
        gx[i] = acc;
    }
}

// y [n, o, plane] += bias[o].
extern "C" __global__ void add_channel_bias(float* __restrict__ y, const float* __restrict__ bias, int n, int o,
                                            int plane) {
    TF_FOR(i, n * o * plane) {
        y[i] += bias[i / plane % o];
    }
}
