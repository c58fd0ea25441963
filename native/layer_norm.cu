// Layer norm over the last dim of x [rows, cols] with optional gamma/beta [cols] (null when absent). x, y and their
// gradients are Typed (a 16-bit activation is normalised in float32 and its output rounded); statistics, gamma,
// beta and their gradients are float32.
#include "common.cuh"
#include "typed.cuh"

// One block per row; mean/rstd [rows].
extern "C" __global__ void layer_norm_forward(Typed x, const float* __restrict__ gamma,
                                              const float* __restrict__ beta, Typed y,
                                              float* __restrict__ mean, float* __restrict__ rstd, int cols, float eps) {
    __shared__ double scratch[32];
    size_t base = (size_t) blockIdx.x * cols;
    double s = 0;
    for (int i = threadIdx.x; i < cols; i += blockDim.x) s += x.load(base + i);
    float mu = (float) (tf_block_sum(s, scratch) / cols);
    double ss = 0;
    for (int i = threadIdx.x; i < cols; i += blockDim.x) {
        double d = (double) (x.load(base + i) - mu);
        ss += d * d;
    }
    float rs = (float) (1.0 / sqrt(tf_block_sum(ss, scratch) / cols + eps));
    if (threadIdx.x == 0) {
        mean[blockIdx.x] = mu;
        rstd[blockIdx.x] = rs;
    }
    for (int i = threadIdx.x; i < cols; i += blockDim.x) {
        float g = gamma ? gamma[i] : 1.0f, b = beta ? beta[i] : 0.0f;
        y.store(base + i, (x.load(base + i) - mu) * rs * g + b);
    }
}

// One block per row: gx = rs * (gh - mean(gh) - xhat * mean(gh * xhat)) with gh = gy * gamma.
extern "C" __global__ void layer_norm_backward_input(Typed gy, Typed x,
                                                     const float* __restrict__ mean, const float* __restrict__ rstd,
                                                     const float* __restrict__ gamma, Typed gx,
                                                     int cols) {
    __shared__ double scratch[32];
    size_t base = (size_t) blockIdx.x * cols;
    float mu = mean[blockIdx.x];
    double rs = rstd[blockIdx.x];
    double sg = 0, sgx = 0;
    for (int i = threadIdx.x; i < cols; i += blockDim.x) {
        float gh = gy.load(base + i) * (gamma ? gamma[i] : 1.0f);
        sg += gh;
        sgx += (double) gh * (x.load(base + i) - mu);
    }
    sg = tf_block_sum(sg, scratch);
    sgx = tf_block_sum(sgx, scratch) * rs;
    float slope_x = (float) (-rs * rs * sgx / cols), offset = (float) (-rs * sg / cols), slope_g = (float) rs;
    for (int i = threadIdx.x; i < cols; i += blockDim.x) {
        float gh = gy.load(base + i) * (gamma ? gamma[i] : 1.0f);
        gx.store(base + i, gh * slope_g + (x.load(base + i) - mu) * slope_x + offset);
    }
}

// One thread per column: gGamma = sum_r gy * xhat, gBeta = sum_r gy (either may be null).
extern "C" __global__ void layer_norm_param_grads(Typed gy, Typed x,
                                                  const float* __restrict__ mean, const float* __restrict__ rstd,
                                                  float* __restrict__ g_gamma, float* __restrict__ g_beta,
                                                  int rows, int cols) {
    TF_FOR(j, cols) {
        double a = 0, s = 0;
        for (int r = 0; r < rows; r++) {
            float g = gy.load((size_t) r * cols + j);
            a += (double) g * ((x.load((size_t) r * cols + j) - mean[r]) * rstd[r]);
            s += g;
        }
        if (g_gamma) g_gamma[j] = (float) a;
        if (g_beta) g_beta[j] = (float) s;
    }
}
