// Group norm over x [n, c, spatial] with optional affine gamma/beta [c] (null pointers when absent) and an
// optional fused SiLU on the output, so that the GroupNorm + SiLU pairs of the U-Net read and write the
// activation once. Statistics accumulate in double, matching the CPU reference on groups of 320 x 4096. x, y and
// their gradients are Typed (16-bit activations normalised in float32, outputs rounded); the rest is float32.
#include "common.cuh"
#include "typed.cuh"

// The affine output before the optional SiLU.
__device__ __forceinline__ float gn_affine(float x, float mu, float rs, const float* gamma, const float* beta, int ch) {
    float scale = rs * (gamma ? gamma[ch] : 1.0f);
    return (x - mu) * scale + (beta ? beta[ch] : 0.0f);
}

// One block per (sample, group): mean/rstd [n * groups], y = affine(normalised x), SiLU'd when `silu`.
extern "C" __global__ void group_norm_forward(Typed x, const float* __restrict__ gamma,
                                              const float* __restrict__ beta, Typed y,
                                              float* __restrict__ mean, float* __restrict__ rstd,
                                              int c, int spatial, int groups, float eps, int silu) {
    __shared__ double scratch[32];
    int ng = blockIdx.x, g = ng % groups, cpg = c / groups;
    int len = cpg * spatial;
    size_t base = (size_t) ng * len;
    double s = 0;
    for (int i = threadIdx.x; i < len; i += blockDim.x) s += x.load(base + i);
    float mu = (float) (tf_block_sum(s, scratch) / len);
    double ss = 0;
    for (int i = threadIdx.x; i < len; i += blockDim.x) {
        double d = (double) (x.load(base + i) - mu);
        ss += d * d;
    }
    float rs = (float) (1.0 / sqrt(tf_block_sum(ss, scratch) / len + eps));
    if (threadIdx.x == 0) {
        mean[ng] = mu;
        rstd[ng] = rs;
    }
    for (int i = threadIdx.x; i < len; i += blockDim.x) {
        float h = gn_affine(x.load(base + i), mu, rs, gamma, beta, g * cpg + i / spatial);
        y.store(base + i, silu ? h * tf_sigmoid(h) : h);
    }
}

// The gradient reaching the affine output: gy itself, or gy * SiLU'(h) when the SiLU was fused.
__device__ __forceinline__ float gn_grad_in(float gy, float x, float mu, float rs, const float* gamma,
                                            const float* beta, int ch, int silu) {
    if (!silu) return gy;
    float h = gn_affine(x, mu, rs, gamma, beta, ch);
    float sg = tf_sigmoid(h);
    return gy * (sg + h * sg * (1.0f - sg));
}

// Pass 1 of the backward, one block per (sample, channel): sum(g) and sum(g * (x - mean)) in double.
extern "C" __global__ void group_norm_channel_sums(Typed gy, Typed x,
                                                   const float* __restrict__ mean, const float* __restrict__ rstd,
                                                   const float* __restrict__ gamma, const float* __restrict__ beta,
                                                   double* __restrict__ sum_g, double* __restrict__ sum_gx,
                                                   int c, int spatial, int groups, int silu) {
    __shared__ double scratch[32];
    int p = blockIdx.x, ch = p % c;
    int ng = p / c * groups + ch / (c / groups);
    float mu = mean[ng], rs = rstd[ng];
    size_t base = (size_t) p * spatial;
    double a = 0, b = 0;
    for (int i = threadIdx.x; i < spatial; i += blockDim.x) {
        float xv = x.load(base + i);
        float g = gn_grad_in(gy.load(base + i), xv, mu, rs, gamma, beta, ch, silu);
        a += g;
        b += (double) g * (xv - mu);
    }
    a = tf_block_sum(a, scratch);
    b = tf_block_sum(b, scratch);
    if (threadIdx.x == 0) {
        sum_g[p] = a;
        sum_gx[p] = b;
    }
}

// Pass 2, one block per (sample, group): gx = rs * (g*gamma - mean(g*gamma) - xhat * mean(g*gamma*xhat)).
extern "C" __global__ void group_norm_backward_input(Typed gy, Typed x,
                                                     const float* __restrict__ mean, const float* __restrict__ rstd,
                                                     const float* __restrict__ gamma, const float* __restrict__ beta,
                                                     const double* __restrict__ sum_g,
                                                     const double* __restrict__ sum_gx, Typed gx,
                                                     int c, int spatial, int groups, int silu) {
    __shared__ double scratch[32];
    int ng = blockIdx.x, b = ng / groups, g = ng % groups, cpg = c / groups;
    float mu = mean[ng];
    double rs = rstd[ng];
    double sg = 0, sgx = 0;
    for (int k = threadIdx.x; k < cpg; k += blockDim.x) {
        int ch = g * cpg + k;
        double ga = gamma ? gamma[ch] : 1.0;
        sg += ga * sum_g[b * c + ch];
        sgx += ga * sum_gx[b * c + ch] * rs;
    }
    sg = tf_block_sum(sg, scratch);
    sgx = tf_block_sum(sgx, scratch);
    double len = (double) cpg * spatial;
    float slope_x = (float) (-rs * rs * sgx / len), offset = (float) (-rs * sg / len);
    size_t base = (size_t) ng * cpg * spatial;
    int count = cpg * spatial;
    for (int i = threadIdx.x; i < count; i += blockDim.x) {
        int ch = g * cpg + i / spatial;
        float xv = x.load(base + i);
        float gin = gn_grad_in(gy.load(base + i), xv, mu, (float) rs, gamma, beta, ch, silu);
        float slope_g = (float) (rs * (gamma ? gamma[ch] : 1.0f));
        gx.store(base + i, gin * slope_g + (xv - mu) * slope_x + offset);
    }
}

// Pass 3, one thread per channel: gGamma[ch] = sum_b sum_gx * rstd, gBeta[ch] = sum_b sum_g (either may be null).
extern "C" __global__ void group_norm_param_grads(const double* __restrict__ sum_g, const double* __restrict__ sum_gx,
                                                  const float* __restrict__ rstd, float* __restrict__ g_gamma,
                                                  float* __restrict__ g_beta, int n, int c, int groups) {
    int cpg = c / groups;
    TF_FOR(ch, c) {
        double a = 0, s = 0;
        for (int b = 0; b < n; b++) {
            a += sum_gx[b * c + ch] * rstd[b * groups + ch / cpg];
            s += sum_g[b * c + ch];
        }
        if (g_gamma) g_gamma[ch] = (float) a;
        if (g_beta) g_beta[ch] = (float) s;
    }
}
