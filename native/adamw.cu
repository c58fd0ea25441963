// One AdamW step in place (PyTorch's formulas, decoupled weight decay). The bias corrections are folded on the
// host, as the CPU backend does: step_size = lr / (1 - beta1^t), sqrt_bc2 = sqrt(1 - beta2^t), decay = 1 - lr * wd.
#include "common.cuh"

extern "C" __global__ void adamw_step(float* __restrict__ param, const float* __restrict__ grad, float* __restrict__ m,
                                      float* __restrict__ v, float beta1, float beta2, float eps, float step_size,
                                      float sqrt_bc2, float decay, int n) {
    TF_FOR(i, n) {
        float g = grad[i];
        float mi = beta1 * m[i] + (1.0f - beta1) * g;
        float vi = beta2 * v[i] + (1.0f - beta2) * g * g;
        m[i] = mi;
        v[i] = vi;
        float denom = sqrtf(vi) / sqrt_bc2 + eps;
        param[i] = param[i] * decay - step_size * mi / denom;
    }
}
