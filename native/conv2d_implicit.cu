// Convolution as an implicit GEMM: y [n, o, oh, ow] = bias + W [o, c*kh*kw] x columns, where the columns of
// im2col are never written out: each block gathers the 16 x 64 slice of them it needs straight from x into shared
// memory. Rows of the GEMM are output channels (M = o), columns are output positions of the whole batch
// (N = n * oh * ow), the contraction runs over (channel, kernel row, kernel column) (K = c * kh * kw).
//
// A block computes a 64 x 64 tile of y with 256 threads, each owning 4 x 4 outputs (rows ty + 16 i, columns
// tx + 16 j), as lora.cu does. A 16-bit weight is read in place and widened; the input is rounded to the weight's
// format first, as the im2col path's 16-bit columns are (autocast's convolution), so both paths compute the same
// products. Input and output are Typed: 16-bit activations are read in place and the result is rounded once into
// the output's format (float32 sums either way).
#include "common.cuh"
#include "half.cuh"
#include "typed.cuh"

#define CONV_TILE 64
#define CONV_STEP 16

// How weights and inputs enter the products: float32 as they are.
struct ConvFp32 {
    using Weight = float;
    __device__ __forceinline__ static float weight(const float* w, size_t i) { return w[i]; }
    __device__ __forceinline__ static float input(float v) { return v; }
};

// A 16-bit weight format F: weights widened exactly, inputs rounded to F.
template <class F>
struct ConvHalf {
    using Weight = uint16_t;
    __device__ __forceinline__ static float weight(const uint16_t* w, size_t i) { return F::load(w[i]); }
    __device__ __forceinline__ static float input(float v) { return F::load(F::store(v)); }
};

template <class P>
__device__ void conv2d_implicit_body(Typed x, const typename P::Weight* __restrict__ w,
                                     const float* __restrict__ bias, Typed y, int n, int c, int h,
                                     int wd, int o, int kh, int kw, int oh, int ow, int stride, int pad) {
    // ws rows get one float of padding: the loader writes them with consecutive threads on consecutive rows.
    __shared__ float ws[CONV_STEP][CONV_TILE + 1];
    __shared__ float xs[CONV_STEP][CONV_TILE];
    const int khw = kh * kw, k_total = c * khw, plane = oh * ow, q_total = n * plane;
    const int tid = threadIdx.x, tx = tid % 16, ty = tid / 16;
    const int o0 = blockIdx.y * CONV_TILE, q0 = blockIdx.x * CONV_TILE;
    float acc[4][4] = {};
    for (int k0 = 0; k0 < k_total; k0 += CONV_STEP) {
        // Weights: consecutive threads read consecutive k of one output channel's row.
        for (int idx = tid; idx < CONV_STEP * CONV_TILE; idx += blockDim.x) {
            const int kk = idx % CONV_STEP, r = idx / CONV_STEP, k = k0 + kk;
            ws[kk][r] = (k < k_total && o0 + r < o) ? P::weight(w, (size_t) (o0 + r) * k_total + k) : 0.0f;
        }
        // Inputs: consecutive threads take consecutive output positions, i.e. neighbouring pixels of x.
        for (int idx = tid; idx < CONV_STEP * CONV_TILE; idx += blockDim.x) {
            const int kk = idx / CONV_TILE, r = idx % CONV_TILE, k = k0 + kk, q = q0 + r;
            float v = 0.0f;
            if (k < k_total && q < q_total) {
                const int ci = k / khw, ky = k % khw / kw, kx = k % kw;
                const int img = q / plane, oy = q % plane / ow, ox = q % ow;
                const int iy = oy * stride - pad + ky, ix = ox * stride - pad + kx;
                if (iy >= 0 && iy < h && ix >= 0 && ix < wd) {
                    v = P::input(x.load((((size_t) img * c + ci) * h + iy) * wd + ix));
                }
            }
            xs[kk][r] = v;
        }
        __syncthreads();
        for (int kk = 0; kk < CONV_STEP; kk++) {
            float a[4], b[4];
            for (int i = 0; i < 4; i++) {
                a[i] = ws[kk][ty + 16 * i];
                b[i] = xs[kk][tx + 16 * i];
            }
            for (int i = 0; i < 4; i++)
                for (int j = 0; j < 4; j++) acc[i][j] = fmaf(a[i], b[j], acc[i][j]);
        }
        __syncthreads();  // the tiles are rewritten by the next step
    }
    for (int i = 0; i < 4; i++) {
        const int oc = o0 + ty + 16 * i;
        if (oc >= o) continue;
        const float b0 = bias ? bias[oc] : 0.0f;
        for (int j = 0; j < 4; j++) {
            const int q = q0 + tx + 16 * j;
            if (q < q_total) y.store(((size_t) (q / plane) * o + oc) * plane + q % plane, acc[i][j] + b0);
        }
    }
}

// Grid: (ceil(n * oh * ow / 64), ceil(o / 64)) blocks of 256 threads. bias may be null.
extern "C" __global__ void __launch_bounds__(256)
conv2d_implicit(Typed x, const float* __restrict__ w, const float* __restrict__ bias, Typed y, int n, int c, int h,
                int wd, int o, int kh, int kw, int oh, int ow, int stride, int pad) {
    conv2d_implicit_body<ConvFp32>(x, w, bias, y, n, c, h, wd, o, kh, kw, oh, ow, stride, pad);
}

extern "C" __global__ void __launch_bounds__(256)
conv2d_implicit_bf16(Typed x, const uint16_t* __restrict__ w, const float* __restrict__ bias, Typed y, int n, int c,
                     int h, int wd, int o, int kh, int kw, int oh, int ow, int stride, int pad) {
    conv2d_implicit_body<ConvHalf<Bf16>>(x, w, bias, y, n, c, h, wd, o, kh, kw, oh, ow, stride, pad);
}

extern "C" __global__ void __launch_bounds__(256)
conv2d_implicit_fp16(Typed x, const uint16_t* __restrict__ w, const float* __restrict__ bias, Typed y, int n, int c,
                     int h, int wd, int o, int kh, int kw, int oh, int ow, int stride, int pad) {
    conv2d_implicit_body<ConvHalf<Fp16>>(x, w, bias, y, n, c, h, wd, o, kh, kw, oh, ow, stride, pad);
}
