// The fused LoRA matmul y = x W^T + scale * (x A^T) B^T in one pass over x: each block computes a 64 x 64 tile of
// y and, from the same shared-memory tiles of x, the 64 x R tile of t = x A^T, then adds scale * t B^T before the
// single store. Blocks of the first column also store t [M, R], which the backward needs.
//
// The operands are addressed through strides so that the same kernel computes the input gradient
// gx = gy W + scale * (gy B) A (the forward with W, A, B read transposed):
//   w(kk, col) = w[col * w_col + kk * w_k]     base weight, contraction index kk, output column col
//   down(kk, r) = down[r * d_r + kk * d_k]     A in the forward, B in the backward
//   up(r, col) = up[col * u_col + r * u_r]     B in the forward, A in the backward
// x is a dense [m, k] matrix and y a dense [m, n] one. The rank r must be at most LORA_MAX_RANK.
#include "common.cuh"

#define LORA_TILE 64
#define LORA_STEP 16
#define LORA_MAX_RANK 64
// The tile loader fills the rank rows of `ds` with the same index as the tile rows.
static_assert(LORA_TILE == LORA_MAX_RANK, "lora_matmul loads ds with the tile row index");

extern "C" __global__ void __launch_bounds__(256)
lora_matmul(const float* __restrict__ x, const float* __restrict__ w, const float* __restrict__ down,
            const float* __restrict__ up, float* __restrict__ y, float* __restrict__ t_out,
            int m, int n, int k, int rank, float scale,
            int w_col, int w_k, int d_r, int d_k, int u_col, int u_r) {
    __shared__ float xs[LORA_STEP][LORA_TILE];
    __shared__ float ws[LORA_STEP][LORA_TILE];
    __shared__ float ds[LORA_STEP][LORA_MAX_RANK];
    __shared__ float ts[LORA_TILE][LORA_MAX_RANK + 1];
    __shared__ float us[LORA_TILE][LORA_MAX_RANK + 1];

    const int tid = threadIdx.x, tx = tid % 16, ty = tid / 16;
    const int m0 = blockIdx.y * LORA_TILE, n0 = blockIdx.x * LORA_TILE;
    // Thread (ty, tx) owns rows ty + 16 i and columns tx + 16 j of the tile (and ranks tx + 16 j of t), so that a
    // warp's shared-memory reads are broadcasts or consecutive words.
    float acc[4][4] = {}, low[4][4] = {};
    for (int k0 = 0; k0 < k; k0 += LORA_STEP) {
        for (int idx = tid; idx < LORA_STEP * LORA_TILE; idx += blockDim.x) {
            int kk = idx % LORA_STEP, row = idx / LORA_STEP;
            bool in_k = k0 + kk < k;
            xs[kk][row] = (in_k && m0 + row < m) ? x[(size_t) (m0 + row) * k + k0 + kk] : 0.0f;
            ws[kk][row] = (in_k && n0 + row < n) ? w[(size_t) (n0 + row) * w_col + (size_t) (k0 + kk) * w_k] : 0.0f;
            ds[kk][row] = (in_k && row < rank) ? down[(size_t) row * d_r + (size_t) (k0 + kk) * d_k] : 0.0f;
        }
        __syncthreads();
#pragma unroll
        for (int kk = 0; kk < LORA_STEP; kk++) {
            float xv[4], wv[4], dv[4];
#pragma unroll
            for (int i = 0; i < 4; i++) {
                xv[i] = xs[kk][ty + 16 * i];
                wv[i] = ws[kk][tx + 16 * i];
                dv[i] = ds[kk][tx + 16 * i];
            }
#pragma unroll
            for (int i = 0; i < 4; i++) {
#pragma unroll
                for (int j = 0; j < 4; j++) {
                    acc[i][j] = fmaf(xv[i], wv[j], acc[i][j]);
                    low[i][j] = fmaf(xv[i], dv[j], low[i][j]);
                }
            }
        }
        __syncthreads();
    }
#pragma unroll
    for (int i = 0; i < 4; i++) {
#pragma unroll
        for (int j = 0; j < 4; j++) ts[ty + 16 * i][tx + 16 * j] = low[i][j];
    }
    for (int idx = tid; idx < LORA_TILE * LORA_MAX_RANK; idx += blockDim.x) {
        int col = idx / LORA_MAX_RANK, r = idx % LORA_MAX_RANK;
        us[col][r] = (n0 + col < n && r < rank) ? up[(size_t) (n0 + col) * u_col + (size_t) r * u_r] : 0.0f;
    }
    __syncthreads();
    if (blockIdx.x == 0 && t_out) {
        for (int idx = tid; idx < LORA_TILE * rank; idx += blockDim.x) {
            int row = idx / rank, r = idx % rank;
            if (m0 + row < m) t_out[(size_t) (m0 + row) * rank + r] = ts[row][r];
        }
    }
#pragma unroll
    for (int i = 0; i < 4; i++) {
        int row = ty + 16 * i;
#pragma unroll
        for (int j = 0; j < 4; j++) {
            int col = tx + 16 * j;
            float lr = 0.0f;
            for (int r = 0; r < rank; r++) lr = fmaf(ts[row][r], us[col][r], lr);
            if (m0 + row < m && n0 + col < n) y[(size_t) (m0 + row) * n + n0 + col] = acc[i][j] + scale * lr;
        }
    }
}
