// Scaled dot-product attention over bh heads, q [bh, nq, d], k [bh, nk, d], v [bh, nk, dv], in the FlashAttention
// manner: a block owns a tile of queries (forward) or keys (backward) and streams the other side through shared
// memory, so only a [bq x bk] tile of scores ever exists (in shared memory; never an [nq x nk] matrix in global
// memory). The forward keeps a running row maximum and sum (online softmax); lse = max + log(sum) is all the
// backward needs to rebuild probabilities. With causal, query i sees keys j <= i; a row that sees no key gets
// out = 0 and lse = -inf, as on the CPU.
//
// Tile sizes bq and bk are launch arguments; the caller sizes dynamic shared memory with the formulas in
// attention_forward_smem_floats / attention_backward_smem_floats (mirrored by the Java launcher).
//
// The backward also serves the reduced-precision mode, whose forward is attention_forward_tc (attention_tc.cu): with
// format TF_ROUND_BF16 or TF_ROUND_FP16 it rounds q, k and v to that format as it loads them, so that it recomputes
// the very scores the tensor-core forward's lse belongs to and differentiates the function that forward computed;
// it rounds the incoming gradient too, as the tensor-core backward (attention_backward_tc) does. That kernel takes
// over whenever its shared memory fits; this one remains for devices where only the forward's does.
#include "common.cuh"
#include "half.cuh"
#include "typed.cuh"

#define TF_ROUND_NONE 0
#define TF_ROUND_BF16 1
#define TF_ROUND_FP16 2

// x rounded to the 16-bit format `format` names (and widened back), or x itself for TF_ROUND_NONE.
__device__ __forceinline__ float round_as(float x, int format) {
    switch (format) {
        case TF_ROUND_BF16: return Bf16::load(Bf16::store(x));
        case TF_ROUND_FP16: return Fp16::load(Fp16::store(x));
        default: return x;
    }
}

// Shared-memory rows of Q, K, V and dO are padded to an odd stride so that threads of a warp reading different
// rows at the same column hit different banks.
__host__ __device__ __forceinline__ int padded(int n) { return n | 1; }

__host__ __device__ __forceinline__ int attention_forward_smem_floats(int bq, int bk, int d, int dv) {
    return bq * padded(d) + bk * padded(d) + bk * padded(dv) + bq * (bk + 1) + bq * dv + 3 * bq;
}

__host__ __device__ __forceinline__ int attention_backward_smem_floats(int bq, int bk, int d, int dv) {
    return 2 * bk * padded(d) + 2 * bk * padded(dv) + bq * padded(d) + bq * padded(dv) + 2 * bq * (bk + 1) + 2 * bq;
}

// Copies rows [row0, row0 + rows) of a [*, cols] matrix into a tile with row stride `stride`, each value rounded
// as `format` says and then scaled by `mul`; tile rows past the matrix end (up to tile_rows) are zeroed so that
// masked lanes never multiply garbage.
__device__ __forceinline__ void load_tile(const float* __restrict__ src, int row0, int rows, int total_rows,
                                          int cols, float mul, float* tile, int tile_rows, int stride,
                                          int format = TF_ROUND_NONE) {
    for (int idx = threadIdx.x; idx < tile_rows * cols; idx += blockDim.x) {
        int r = idx / cols, c = idx % cols;
        tile[r * stride + c] = (r < rows && row0 + r < total_rows)
                ? round_as(src[(size_t) (row0 + r) * cols + c], format) * mul : 0.0f;
    }
}

extern "C" __global__ void attention_forward(const float* __restrict__ q, const float* __restrict__ k,
                                             const float* __restrict__ v, float* __restrict__ out,
                                             float* __restrict__ lse, int nq, int nk, int d, int dv, float scale,
                                             int causal, int bq, int bk) {
    TF_DYNAMIC_SHARED(float, smem);
    const int dp = padded(d), dvp = padded(dv), sp = bk + 1;
    float* qs = smem;                 // [bq][dp], pre-scaled
    float* ks = qs + bq * dp;         // [bk][dp]
    float* vs = ks + bk * dp;         // [bk][dvp]
    float* s = vs + bk * dvp;         // [bq][sp] scores, then probabilities
    float* o = s + bq * sp;           // [bq][dv] unnormalised output
    float* row_max = o + bq * dv;
    float* row_sum = row_max + bq;
    float* corr = row_sum + bq;

    const int h = blockIdx.y, i0 = blockIdx.x * bq;
    const int m = min(bq, nq - i0);
    const float* qh = q + (size_t) h * nq * d;
    const float* kh = k + (size_t) h * nk * d;
    const float* vh = v + (size_t) h * nk * dv;
    const int warp = threadIdx.x >> 5, lane = threadIdx.x & 31, warps = blockDim.x >> 5;

    load_tile(qh, i0, m, nq, d, scale, qs, bq, dp);
    for (int idx = threadIdx.x; idx < bq * dv; idx += blockDim.x) o[idx] = 0.0f;
    for (int r = threadIdx.x; r < bq; r += blockDim.x) {
        row_max[r] = -INFINITY;
        row_sum[r] = 0.0f;
    }
    const int key_end = causal ? min(nk, i0 + m) : nk;
    for (int j0 = 0; j0 < key_end; j0 += bk) {
        const int kn = min(bk, key_end - j0);
        __syncthreads();  // the previous tile's readers are done
        load_tile(kh, j0, kn, nk, d, 1.0f, ks, bk, dp);
        load_tile(vh, j0, kn, nk, dv, 1.0f, vs, bk, dvp);
        __syncthreads();
        for (int idx = threadIdx.x; idx < bq * bk; idx += blockDim.x) {
            int r = idx / bk, c = idx % bk;
            float acc = -INFINITY;
            if (r < m && c < kn && (!causal || j0 + c <= i0 + r)) {
                acc = 0.0f;
                const float* qr = qs + r * dp;
                const float* kc = ks + c * dp;
                for (int t = 0; t < d; t++) acc = fmaf(qr[t], kc[t], acc);
            }
            s[r * sp + c] = acc;
        }
        __syncthreads();
        // One warp per row: new running maximum, probabilities, and the factor rescaling the old accumulator.
        for (int r = warp; r < bq; r += warps) {
            float* sr = s + r * sp;
            float bm = -INFINITY;
            for (int c = lane; c < bk; c += 32) bm = fmaxf(bm, sr[c]);
            bm = tf_warp_max(bm);
            float old = row_max[r], mx = fmaxf(old, bm);
            float sum = 0.0f;
            for (int c = lane; c < bk; c += 32) {
                float p = mx == -INFINITY ? 0.0f : expf(sr[c] - mx);
                sr[c] = p;
                sum += p;
            }
            sum = tf_warp_sum(sum);
            __syncwarp();
            if (lane == 0) {
                float f = (old == -INFINITY) ? 0.0f : expf(old - mx);
                corr[r] = f;
                row_sum[r] = row_sum[r] * f + sum;
                row_max[r] = mx;
            }
        }
        __syncthreads();
        for (int idx = threadIdx.x; idx < bq * dv; idx += blockDim.x) {
            int r = idx / dv, e = idx % dv;
            const float* pr = s + r * sp;
            float acc = o[idx] * corr[r];
            for (int c = 0; c < kn; c++) acc = fmaf(pr[c], vs[c * dvp + e], acc);
            o[idx] = acc;
        }
    }
    __syncthreads();
    for (int idx = threadIdx.x; idx < m * dv; idx += blockDim.x) {
        int r = idx / dv;
        float l = row_sum[r];
        out[((size_t) h * nq + i0) * dv + idx] = l == 0.0f ? 0.0f : o[idx] / l;
    }
    for (int r = threadIdx.x; r < m; r += blockDim.x) {
        float l = row_sum[r];
        lse[(size_t) h * nq + i0 + r] = l == 0.0f ? -INFINITY : row_max[r] + logf(l);
    }
}

// delta[row] = sum_e gOut[row, e] * out[row, e], one warp per row, gOut rounded as `format` (TF_ROUND_*) says.
extern "C" __global__ void attention_delta(Typed g_out, Typed out, float* __restrict__ delta, int rows, int dv,
                                           int format) {
    int warp = (blockIdx.x * blockDim.x + threadIdx.x) >> 5, lane = threadIdx.x & 31;
    if (warp >= rows) return;
    size_t row = (size_t) warp * dv;
    float acc = 0.0f;
    for (int e = lane; e < dv; e += 32) acc = fmaf(round_as(g_out.load(row + e), format), out.load(row + e), acc);
    acc = tf_warp_sum(acc);
    if (lane == 0) delta[warp] = acc;
}

// One block per (key tile, head): accumulates gk, gv for its keys in shared memory over all query tiles that see
// them and adds each tile's query gradient into gq (zeroed by the caller) with atomics. `format` (TF_ROUND_*) says
// how q, k, v and g_out are rounded as they are loaded (attention_delta rounds g_out alike); lse and delta are used
// as they are.
extern "C" __global__ void attention_backward(const float* __restrict__ q, const float* __restrict__ k,
                                              const float* __restrict__ v, const float* __restrict__ g_out,
                                              const float* __restrict__ lse, const float* __restrict__ delta,
                                              float* __restrict__ gq, float* __restrict__ gk, float* __restrict__ gv,
                                              int nq, int nk, int d, int dv, float scale, int causal, int bq, int bk,
                                              int format) {
    TF_DYNAMIC_SHARED(float, smem);
    const int dp = padded(d), dvp = padded(dv), sp = bk + 1;
    float* ks = smem;                 // [bk][dp]
    float* vs = ks + bk * dp;         // [bk][dvp]
    float* gks = vs + bk * dvp;       // [bk][dp]
    float* gvs = gks + bk * dp;       // [bk][dvp]
    float* qs = gvs + bk * dvp;       // [bq][dp]
    float* gos = qs + bq * dp;        // [bq][dvp]
    float* p = gos + bq * dvp;        // [bq][sp] probabilities
    float* ds = p + bq * sp;          // [bq][sp] score gradients (times scale)
    float* lse_s = ds + bq * sp;
    float* delta_s = lse_s + bq;

    const int h = blockIdx.y, j0 = blockIdx.x * bk;
    const int kn = min(bk, nk - j0);
    const float* qh = q + (size_t) h * nq * d;
    const float* goh = g_out + (size_t) h * nq * dv;
    load_tile(k + (size_t) h * nk * d, j0, kn, nk, d, 1.0f, ks, bk, dp, format);
    load_tile(v + (size_t) h * nk * dv, j0, kn, nk, dv, 1.0f, vs, bk, dvp, format);
    for (int idx = threadIdx.x; idx < bk * dp; idx += blockDim.x) gks[idx] = 0.0f;
    for (int idx = threadIdx.x; idx < bk * dvp; idx += blockDim.x) gvs[idx] = 0.0f;

    // Causal: queries before j0 see none of these keys.
    for (int i0 = causal ? j0 / bq * bq : 0; i0 < nq; i0 += bq) {
        const int m = min(bq, nq - i0);
        __syncthreads();
        load_tile(qh, i0, m, nq, d, 1.0f, qs, bq, dp, format);
        load_tile(goh, i0, m, nq, dv, 1.0f, gos, bq, dvp, format);
        for (int r = threadIdx.x; r < bq; r += blockDim.x) {
            bool valid = r < m;
            lse_s[r] = valid ? lse[(size_t) h * nq + i0 + r] : -INFINITY;
            delta_s[r] = valid ? delta[(size_t) h * nq + i0 + r] : 0.0f;
        }
        __syncthreads();
        for (int idx = threadIdx.x; idx < bq * bk; idx += blockDim.x) {
            int r = idx / bk, c = idx % bk;
            float pv = 0.0f, dsv = 0.0f;
            if (r < m && c < kn && (!causal || j0 + c <= i0 + r) && lse_s[r] != -INFINITY) {
                const float* qr = qs + r * dp;
                const float* kc = ks + c * dp;
                float score = 0.0f;
                for (int t = 0; t < d; t++) score = fmaf(qr[t], kc[t], score);
                const float* gr = gos + r * dvp;
                const float* vc = vs + c * dvp;
                float dpv = 0.0f;
                for (int e = 0; e < dv; e++) dpv = fmaf(gr[e], vc[e], dpv);
                pv = expf(score * scale - lse_s[r]);
                dsv = pv * (dpv - delta_s[r]) * scale;
            }
            p[r * sp + c] = pv;
            ds[r * sp + c] = dsv;
        }
        __syncthreads();
        // gv += P^T dO, gk += dS^T Q over this query tile.
        for (int idx = threadIdx.x; idx < kn * dv; idx += blockDim.x) {
            int c = idx / dv, e = idx % dv;
            float acc = gvs[c * dvp + e];
            for (int r = 0; r < m; r++) acc = fmaf(p[r * sp + c], gos[r * dvp + e], acc);
            gvs[c * dvp + e] = acc;
        }
        for (int idx = threadIdx.x; idx < kn * d; idx += blockDim.x) {
            int c = idx / d, t = idx % d;
            float acc = gks[c * dp + t];
            for (int r = 0; r < m; r++) acc = fmaf(ds[r * sp + c], qs[r * dp + t], acc);
            gks[c * dp + t] = acc;
        }
        // gq += dS K: this key tile's share, summed across key tiles by atomics.
        for (int idx = threadIdx.x; idx < m * d; idx += blockDim.x) {
            int r = idx / d, t = idx % d;
            float acc = 0.0f;
            for (int c = 0; c < kn; c++) acc = fmaf(ds[r * sp + c], ks[c * dp + t], acc);
            atomicAdd(gq + ((size_t) h * nq + i0 + r) * d + t, acc);
        }
    }
    __syncthreads();
    for (int idx = threadIdx.x; idx < kn * d; idx += blockDim.x) {
        int c = idx / d, t = idx % d;
        gk[((size_t) h * nk + j0 + c) * d + t] = gks[c * dp + t];
    }
    for (int idx = threadIdx.x; idx < kn * dv; idx += blockDim.x) {
        int c = idx / dv, e = idx % dv;
        gv[((size_t) h * nk + j0 + c) * dv + e] = gvs[c * dvp + e];
    }
}
