// Attention forward on tensor cores, for the reduced-precision mode (bf16 or fp16): the same contract as
// attention_forward in attention.cu (q [bh, nq, d], k [bh, nk, d], v [bh, nk, dv] dense float32; out [bh, nq, dv]
// and lse [bh, nq] float32; causal: query i sees keys j <= i; a row that sees no key gets out = 0, lse = -inf),
// computed as PyTorch's SDPA is under autocast:
//   - q, k and v are rounded to the 16-bit format as they are loaded into shared memory (nearest, ties to even),
//   - S = Q K^T on WMMA 16x16x16 fragments with float32 accumulators, scaled by `scale` in float32,
//   - the online softmax (running row maximum and sum, rescaling of the output so far) in float32,
//   - P rounded to the 16-bit format for O += P V, again with float32 accumulators; the row sums that normalise O
//     and give lse add the unrounded float32 probabilities,
//   - out = O / sum and lse = max + log(sum) in float32.
//
// Work split: a block of TC_WARPS warps owns TC_ROWS query rows, each warp 16 of them, and streams the keys through
// shared memory TC_KEYS at a time. After the block has loaded a key tile, the warps are independent: each computes
// its 16 x TC_KEYS scores, its softmax and its output rows. Scores go through shared memory (float32) and the
// unnormalised output stays there (float32), so that every elementwise step addresses rows and columns of plain
// arrays and never depends on the layout of WMMA fragment elements, which the API leaves unspecified.
//
// The backward, attention_backward_tc, is at the end of this file.
//
// Head dims up to TC_MAX_DIM; d and dv are zero-padded to multiples of 16 in shared memory (zeros add nothing to
// a dot product, and padded output columns are never stored). Shared memory per block: attention_tc_smem_bytes,
// mirrored by io.texforce.cuda.TensorCoreAttention.
#include <mma.h>
#include <type_traits>

#include "common.cuh"
#include "half.cuh"
#include "typed.cuh"

#define TC_WARPS 4
#define TC_THREADS (32 * TC_WARPS)
#define TC_ROWS (16 * TC_WARPS)
#define TC_KEYS 64
#define TC_MAX_DIM 128
// Shared memory allows 2 to 3 blocks per SM at the SD head dims (61 KiB at d = 40, 71 KiB at d = 64); asking ptxas
// for 4 leaves it up to 128 registers, where it neither spills nor limits occupancy.
#define TC_MIN_BLOCKS 4

// The softmax gives each lane the columns lane and lane + 32 of a score row.
static_assert(TC_KEYS == 64, "the softmax covers a key tile with two columns per lane");

// A head dim rounded up to the 16 of a WMMA fragment.
__host__ __device__ constexpr int tc_padded(int d) { return (d + 15) / 16 * 16; }

// Row strides in shared memory. 16-bit rows get 8 more elements (16 bytes): the stride stays a multiple of 8
// elements, as WMMA loads require, and is an odd multiple of 4 banks, so the 8 rows of a fragment load fall in
// different banks. Float32 rows get 4 more (a multiple of 4 floats, as WMMA accumulator loads and stores require).
__host__ __device__ constexpr int tc_half_stride(int cols) { return cols + 8; }
__host__ __device__ constexpr int tc_float_stride(int cols) { return cols + 4; }

// Dynamic shared memory of one block for padded head dims dp, dvp. Every region is a multiple of 128 bytes, so each
// starts 32-byte aligned (what WMMA pointers need) when the first does.
__host__ __device__ constexpr int attention_tc_smem_bytes(int dp, int dvp) {
    return 4 * (TC_ROWS * tc_float_stride(TC_KEYS)     // scores
                + TC_ROWS * tc_float_stride(dvp)       // unnormalised output
                + 3 * TC_ROWS)                         // row maximum, row sum, rescaling factor
           + 2 * (TC_ROWS * tc_half_stride(dp)         // q
                  + TC_KEYS * tc_half_stride(dp)       // k
                  + TC_KEYS * tc_half_stride(dvp)      // v
                  + TC_ROWS * tc_half_stride(TC_KEYS)); // probabilities
}
static_assert(attention_tc_smem_bytes(48, 48) == 62208, "io.texforce.cuda.TensorCoreAttention mirrors this size");
static_assert(attention_tc_smem_bytes(128, 128) == 113408, "io.texforce.cuda.TensorCoreAttention mirrors this size");

// Rows [row0, row0 + rows) of a dense [total_rows, cols] matrix starting at element `base` of src (float32, or a
// 16-bit activation already in F's format, which rounding leaves as it is) into a rows x padded_cols tile of
// 16-bit elements with row stride `stride`, each value rounded to F; rows past the matrix end and columns past
// `cols` are zero.
template <class F>
__device__ __forceinline__ void tc_load_rounded(const Typed& src, size_t base, int row0, int total_rows, int cols,
                                                typename F::Element* tile, int rows, int padded_cols, int stride) {
    for (int idx = threadIdx.x; idx < rows * padded_cols; idx += blockDim.x) {
        int r = idx / padded_cols, c = idx % padded_cols;
        float x = (row0 + r < total_rows && c < cols) ? src.load(base + (size_t) (row0 + r) * cols + c) : 0.0f;
        tile[r * stride + c] = F::round(x);
    }
}

template <class F>
__device__ void attention_forward_tc(const Typed& q, const Typed& k, const Typed& v, const Typed& out,
                                     float* __restrict__ lse,
                                     int nq, int nk, int d, int dv, float scale, int causal) {
    namespace wmma = nvcuda::wmma;
    using T = typename F::Element;
    using FragA = wmma::fragment<wmma::matrix_a, 16, 16, 16, T, wmma::row_major>;
    using FragBT = wmma::fragment<wmma::matrix_b, 16, 16, 16, T, wmma::col_major>;  // K read as K^T
    using FragB = wmma::fragment<wmma::matrix_b, 16, 16, 16, T, wmma::row_major>;
    using FragC = wmma::fragment<wmma::accumulator, 16, 16, 16, float>;

    TF_DYNAMIC_SHARED(unsigned char, tc_smem);
    const int dp = tc_padded(d), dvp = tc_padded(dv);
    const int qk_stride = tc_half_stride(dp), v_stride = tc_half_stride(dvp), p_stride = tc_half_stride(TC_KEYS);
    const int s_stride = tc_float_stride(TC_KEYS), o_stride = tc_float_stride(dvp);
    float* s_all = reinterpret_cast<float*>(tc_smem);  // [TC_ROWS][s_stride] scores, unscaled
    float* o_all = s_all + TC_ROWS * s_stride;          // [TC_ROWS][o_stride] unnormalised output
    float* row_max = o_all + TC_ROWS * o_stride;        // [TC_ROWS], of scaled scores
    float* row_sum = row_max + TC_ROWS;
    float* corr = row_sum + TC_ROWS;
    T* qs = reinterpret_cast<T*>(corr + TC_ROWS);       // [TC_ROWS][qk_stride]
    T* ks = qs + TC_ROWS * qk_stride;                   // [TC_KEYS][qk_stride]
    T* vs = ks + TC_KEYS * qk_stride;                   // [TC_KEYS][v_stride]
    T* p_all = vs + TC_KEYS * v_stride;                 // [TC_ROWS][p_stride] probabilities

    const int h = blockIdx.y, i0 = blockIdx.x * TC_ROWS;
    const int warp = threadIdx.x >> 5, lane = threadIdx.x & 31, r0 = warp * 16;
    const size_t kh = (size_t) h * nk * d, vh = (size_t) h * nk * dv;
    // This warp's 16 rows of each per-row array.
    const T* qw = qs + r0 * qk_stride;
    float* s = s_all + r0 * s_stride;
    float* o = o_all + r0 * o_stride;
    T* p = p_all + r0 * p_stride;

    tc_load_rounded<F>(q, (size_t) h * nq * d, i0, nq, d, qs, TC_ROWS, dp, qk_stride);
    for (int idx = threadIdx.x; idx < TC_ROWS * o_stride; idx += blockDim.x) o_all[idx] = 0.0f;
    for (int r = threadIdx.x; r < TC_ROWS; r += blockDim.x) {
        row_max[r] = -INFINITY;
        row_sum[r] = 0.0f;
    }
    __syncthreads();  // a warp's rows were set up by threads of other warps (also read when there are no keys)
    const int key_end = causal ? min(nk, i0 + TC_ROWS) : nk;
    for (int j0 = 0; j0 < key_end; j0 += TC_KEYS) {
        if (j0 > 0) __syncthreads();  // every warp is done with the previous key tile
        tc_load_rounded<F>(k, kh, j0, nk, d, ks, TC_KEYS, dp, qk_stride);
        tc_load_rounded<F>(v, vh, j0, nk, dv, vs, TC_KEYS, dvp, v_stride);
        __syncthreads();
        // Causal: a warp whose rows all come before this tile sees none of its keys.
        if (causal && j0 > i0 + r0 + 15) continue;
        const int kn = min(TC_KEYS, nk - j0);

        // S = Q K^T for this warp's rows, 16 keys at a time.
        for (int c0 = 0; c0 < TC_KEYS; c0 += 16) {
            FragC acc;
            wmma::fill_fragment(acc, 0.0f);
            for (int t = 0; t < dp; t += 16) {
                FragA a;
                FragBT b;
                wmma::load_matrix_sync(a, qw + t, qk_stride);
                wmma::load_matrix_sync(b, ks + c0 * qk_stride + t, qk_stride);
                wmma::mma_sync(acc, a, b, acc);
            }
            wmma::store_matrix_sync(s + c0, acc, s_stride, wmma::mem_row_major);
        }
        __syncwarp();

        // Online softmax, one row at a time across the warp: new running maximum, probabilities (rounded into p)
        // and the factor that rescales the output accumulated so far.
        for (int r = 0; r < 16; r++) {
            const int i = i0 + r0 + r;
            float x[2], top = -INFINITY;
            for (int u = 0; u < 2; u++) {
                const int c = lane + 32 * u;
                const bool seen = c < kn && (!causal || j0 + c <= i);
                x[u] = seen ? s[r * s_stride + c] * scale : -INFINITY;
                top = fmaxf(top, x[u]);
            }
            top = tf_warp_max(top);
            const float old = row_max[r0 + r], mx = fmaxf(old, top);
            float sum = 0.0f;
            for (int u = 0; u < 2; u++) {
                const float e = mx == -INFINITY ? 0.0f : expf(x[u] - mx);
                p[r * p_stride + lane + 32 * u] = F::round(e);
                sum += e;
            }
            sum = tf_warp_sum(sum);
            if (lane == 0) {
                const float f = old == -INFINITY ? 0.0f : expf(old - mx);
                corr[r0 + r] = f;
                row_sum[r0 + r] = row_sum[r0 + r] * f + sum;
                row_max[r0 + r] = mx;
            }
        }
        __syncwarp();
        for (int idx = lane; idx < 16 * dvp; idx += 32) {
            const int r = idx / dvp, e = idx % dvp;
            o[r * o_stride + e] *= corr[r0 + r];
        }
        __syncwarp();

        // O += P V, 16 output columns at a time.
        for (int e0 = 0; e0 < dvp; e0 += 16) {
            FragC acc;
            wmma::load_matrix_sync(acc, o + e0, o_stride, wmma::mem_row_major);
            for (int c0 = 0; c0 < TC_KEYS; c0 += 16) {
                FragA a;
                FragB b;
                wmma::load_matrix_sync(a, p + c0, p_stride);
                wmma::load_matrix_sync(b, vs + c0 * v_stride + e0, v_stride);
                wmma::mma_sync(acc, a, b, acc);
            }
            wmma::store_matrix_sync(o + e0, acc, o_stride, wmma::mem_row_major);
        }
    }
    __syncwarp();
    for (int idx = lane; idx < 16 * dv; idx += 32) {
        const int r = idx / dv, e = idx % dv, i = i0 + r0 + r;
        if (i < nq) {
            const float l = row_sum[r0 + r];
            out.store(((size_t) h * nq + i) * dv + e, l == 0.0f ? 0.0f : o[r * o_stride + e] / l);
        }
    }
    if (lane < 16 && i0 + r0 + lane < nq) {
        const float l = row_sum[r0 + lane];
        lse[(size_t) h * nq + i0 + r0 + lane] = l == 0.0f ? -INFINITY : row_max[r0 + lane] + logf(l);
    }
}

// Grid: (ceil(nq / TC_ROWS), bh) blocks of TC_THREADS threads, attention_tc_smem_bytes(dp, dvp) of dynamic shared
// memory; d and dv at most TC_MAX_DIM.
extern "C" __global__ void __launch_bounds__(TC_THREADS, TC_MIN_BLOCKS)
attention_forward_tc_bf16(Typed q, Typed k, Typed v, Typed out, float* __restrict__ lse, int nq, int nk, int d,
                          int dv, float scale, int causal) {
#if TF_BF16_MMA
    attention_forward_tc<Bf16>(q, k, v, out, lse, nq, nk, d, dv, scale, causal);
#else
    __trap();  // io.texforce.cuda.TensorCoreAttention.supported: never launched below sm_80
#endif
}

extern "C" __global__ void __launch_bounds__(TC_THREADS, TC_MIN_BLOCKS)
attention_forward_tc_fp16(Typed q, Typed k, Typed v, Typed out, float* __restrict__ lse, int nq, int nk, int d,
                          int dv, float scale, int causal) {
    attention_forward_tc<Fp16>(q, k, v, out, lse, nq, nk, d, dv, scale, causal);
}

// ---------------------------------------------------------------------------------------------------- backward
//
// The gradients of attention_forward_tc (same contract as attention_backward in attention.cu, given the forward's
// lse and delta = rowsum(dO * out) from attention_delta), on tensor cores: q, k, v and dO are rounded to the 16-bit
// format as they are loaded; S = Q K^T and dP = dO V^T run on WMMA with float32 accumulators; P = exp(S * scale -
// lse) and dS = P * (dP - delta) * scale in float32; P and dS are rounded to 16 bits for dV += P^T dO,
// dK += dS^T Q and dQ = dS K, again with float32 accumulators.
//
// Work split: a block owns TC_KEYS keys, keeps their dK and dV in shared memory (float32) and walks the query tiles
// that see them, TCB_ROWS queries at a time; each tile's dQ share goes to gq (zeroed by the caller) with atomics.
// Every product is a set of 16 x 16 output tiles dealt round-robin to the warps, and every elementwise step runs
// over plain shared-memory arrays, with block barriers between steps: no step depends on the WMMA fragment layout.
// Shared memory per block: attention_tc_backward_smem_bytes, mirrored by io.texforce.cuda.TensorCoreAttention.
// Query rows per tile: 32 rather than the forward's 64 keeps d = 128 (143 KiB) within an A100's 163 KiB per block.
#define TCB_ROWS 32

__host__ __device__ constexpr int attention_tc_backward_smem_bytes(int dp, int dvp) {
    return 4 * (TC_KEYS * tc_float_stride(dp)              // dK
                + TC_KEYS * tc_float_stride(dvp)           // dV
                + 2 * TCB_ROWS * tc_float_stride(TC_KEYS)  // S and dP, then this query tile's dQ
                + 2 * TCB_ROWS)                            // lse, delta
           + 2 * (TC_KEYS * tc_half_stride(dp)             // k
                  + TC_KEYS * tc_half_stride(dvp)          // v
                  + TCB_ROWS * tc_half_stride(dp)          // q
                  + TCB_ROWS * tc_half_stride(dvp)         // dO
                  + 2 * TCB_ROWS * tc_half_stride(TC_KEYS)); // P, dS
}
static_assert(attention_tc_backward_smem_bytes(48, 48) == 75008, "io.texforce.cuda.TensorCoreAttention mirrors this");
static_assert(attention_tc_backward_smem_bytes(128, 128) == 146688,
              "io.texforce.cuda.TensorCoreAttention mirrors this size");
// The dQ tile takes the place of S and dP.
static_assert(TCB_ROWS * tc_float_stride(TC_MAX_DIM) <= 2 * TCB_ROWS * tc_float_stride(TC_KEYS),
              "the dQ tile fits where S and dP were");

// c (16 x 16, float32, row-major with stride ldc) = A B, or c += A B with `accumulate`, for A 16 x kdim and
// B kdim x 16 in 16-bit shared memory. A row-major is read at a[m * lda + k], A col-major (the transpose of a
// row-major kdim x 16 matrix) at a[k * lda + m]; likewise B row-major at b[k * ldb + n], col-major at b[n * ldb + k].
template <class T, class LayoutA, class LayoutB>
__device__ __forceinline__ void tc_tile_product(const T* a, int lda, const T* b, int ldb, int kdim, float* c,
                                                int ldc, bool accumulate) {
    namespace wmma = nvcuda::wmma;
    constexpr bool a_row = std::is_same<LayoutA, wmma::row_major>::value;
    constexpr bool b_row = std::is_same<LayoutB, wmma::row_major>::value;
    wmma::fragment<wmma::accumulator, 16, 16, 16, float> acc;
    if (accumulate) {
        wmma::load_matrix_sync(acc, c, ldc, wmma::mem_row_major);
    } else {
        wmma::fill_fragment(acc, 0.0f);
    }
    for (int t = 0; t < kdim; t += 16) {
        wmma::fragment<wmma::matrix_a, 16, 16, 16, T, LayoutA> fa;
        wmma::fragment<wmma::matrix_b, 16, 16, 16, T, LayoutB> fb;
        wmma::load_matrix_sync(fa, a + (a_row ? t : t * lda), lda);
        wmma::load_matrix_sync(fb, b + (b_row ? t * ldb : t), ldb);
        wmma::mma_sync(acc, fa, fb, acc);
    }
    wmma::store_matrix_sync(c, acc, ldc, wmma::mem_row_major);
}

template <class F>
__device__ void attention_backward_tc(const Typed& q, const Typed& k, const Typed& v, const Typed& g_out,
                                      const float* __restrict__ lse, const float* __restrict__ delta,
                                      float* __restrict__ gq, const Typed& gk, const Typed& gv,
                                      int nq, int nk, int d, int dv, float scale, int causal) {
    namespace wmma = nvcuda::wmma;
    using T = typename F::Element;
    using Row = wmma::row_major;
    using Col = wmma::col_major;

    TF_DYNAMIC_SHARED(unsigned char, tc_smem);
    const int dp = tc_padded(d), dvp = tc_padded(dv);
    const int qk_stride = tc_half_stride(dp), v_stride = tc_half_stride(dvp), p_stride = tc_half_stride(TC_KEYS);
    const int gk_stride = tc_float_stride(dp), gv_stride = tc_float_stride(dvp), s_stride = tc_float_stride(TC_KEYS);
    float* gks = reinterpret_cast<float*>(tc_smem);  // [TC_KEYS][gk_stride] dK of this block's keys
    float* gvs = gks + TC_KEYS * gk_stride;           // [TC_KEYS][gv_stride] dV
    float* s = gvs + TC_KEYS * gv_stride;             // [TCB_ROWS][s_stride] scores, unscaled
    float* dps = s + TCB_ROWS * s_stride;             // [TCB_ROWS][s_stride] dP
    float* dqs = s;                                   // [TCB_ROWS][gk_stride] dQ share, once P and dS are made
    float* lse_s = dps + TCB_ROWS * s_stride;         // [TCB_ROWS]
    float* delta_s = lse_s + TCB_ROWS;                // [TCB_ROWS]
    T* ks = reinterpret_cast<T*>(delta_s + TCB_ROWS); // [TC_KEYS][qk_stride]
    T* vs = ks + TC_KEYS * qk_stride;                 // [TC_KEYS][v_stride]
    T* qs = vs + TC_KEYS * v_stride;                  // [TCB_ROWS][qk_stride]
    T* gos = qs + TCB_ROWS * qk_stride;               // [TCB_ROWS][v_stride] dO
    T* ps = gos + TCB_ROWS * v_stride;                // [TCB_ROWS][p_stride] P
    T* dss = ps + TCB_ROWS * p_stride;                // [TCB_ROWS][p_stride] dS (times scale)

    const int h = blockIdx.y, j0 = blockIdx.x * TC_KEYS, warp = threadIdx.x >> 5;
    const size_t qh = (size_t) h * nq * d, goh = (size_t) h * nq * dv;
    tc_load_rounded<F>(k, (size_t) h * nk * d, j0, nk, d, ks, TC_KEYS, dp, qk_stride);
    tc_load_rounded<F>(v, (size_t) h * nk * dv, j0, nk, dv, vs, TC_KEYS, dvp, v_stride);
    for (int idx = threadIdx.x; idx < TC_KEYS * gk_stride; idx += blockDim.x) gks[idx] = 0.0f;
    for (int idx = threadIdx.x; idx < TC_KEYS * gv_stride; idx += blockDim.x) gvs[idx] = 0.0f;

    constexpr int row_tiles = TCB_ROWS / 16, key_tiles = TC_KEYS / 16;
    const int d_tiles = dp / 16, dv_tiles = dvp / 16;
    // Causal: queries before j0 see none of these keys.
    for (int i0 = causal ? j0 : 0; i0 < nq; i0 += TCB_ROWS) {
        __syncthreads();  // the previous query tile is done with (or this block is done setting up) shared memory
        tc_load_rounded<F>(q, qh, i0, nq, d, qs, TCB_ROWS, dp, qk_stride);
        tc_load_rounded<F>(g_out, goh, i0, nq, dv, gos, TCB_ROWS, dvp, v_stride);
        for (int r = threadIdx.x; r < TCB_ROWS; r += blockDim.x) {
            const bool valid = i0 + r < nq;
            lse_s[r] = valid ? lse[(size_t) h * nq + i0 + r] : -INFINITY;
            delta_s[r] = valid ? delta[(size_t) h * nq + i0 + r] : 0.0f;
        }
        __syncthreads();

        // S = Q K^T and dP = dO V^T, one 16 x 16 tile of each per turn.
        for (int tile = warp; tile < row_tiles * key_tiles; tile += TC_WARPS) {
            const int r0 = tile / key_tiles * 16, c0 = tile % key_tiles * 16;
            tc_tile_product<T, Row, Col>(qs + r0 * qk_stride, qk_stride, ks + c0 * qk_stride, qk_stride, dp,
                                         s + r0 * s_stride + c0, s_stride, false);
            tc_tile_product<T, Row, Col>(gos + r0 * v_stride, v_stride, vs + c0 * v_stride, v_stride, dvp,
                                         dps + r0 * s_stride + c0, s_stride, false);
        }
        __syncthreads();

        // P and dS in float32, rounded to 16 bits for the products; zero wherever a query does not see a key.
        for (int idx = threadIdx.x; idx < TCB_ROWS * TC_KEYS; idx += blockDim.x) {
            const int r = idx / TC_KEYS, c = idx % TC_KEYS, i = i0 + r, j = j0 + c;
            float pv = 0.0f, dsv = 0.0f;
            if (i < nq && j < nk && (!causal || j <= i) && lse_s[r] != -INFINITY) {
                pv = expf(s[r * s_stride + c] * scale - lse_s[r]);
                dsv = pv * (dps[r * s_stride + c] - delta_s[r]) * scale;
            }
            ps[r * p_stride + c] = F::round(pv);
            dss[r * p_stride + c] = F::round(dsv);
        }
        __syncthreads();

        // dV += P^T dO and dK += dS^T Q (tiles of this block's keys), dQ = dS K (tiles of this query tile, written
        // over S and dP, which nobody reads any more).
        const int v_tiles = key_tiles * dv_tiles, k_tiles = key_tiles * d_tiles, q_tiles = row_tiles * d_tiles;
        for (int tile = warp; tile < v_tiles + k_tiles + q_tiles; tile += TC_WARPS) {
            if (tile < v_tiles) {
                const int c0 = tile / dv_tiles * 16, e0 = tile % dv_tiles * 16;
                tc_tile_product<T, Col, Row>(ps + c0, p_stride, gos + e0, v_stride, TCB_ROWS,
                                             gvs + c0 * gv_stride + e0, gv_stride, true);
            } else if (tile < v_tiles + k_tiles) {
                const int u = tile - v_tiles, c0 = u / d_tiles * 16, t0 = u % d_tiles * 16;
                tc_tile_product<T, Col, Row>(dss + c0, p_stride, qs + t0, qk_stride, TCB_ROWS,
                                             gks + c0 * gk_stride + t0, gk_stride, true);
            } else {
                const int u = tile - v_tiles - k_tiles, r0 = u / d_tiles * 16, t0 = u % d_tiles * 16;
                tc_tile_product<T, Row, Row>(dss + r0 * p_stride, p_stride, ks + t0, qk_stride, TC_KEYS,
                                             dqs + r0 * gk_stride + t0, gk_stride, false);
            }
        }
        __syncthreads();
        for (int idx = threadIdx.x; idx < TCB_ROWS * d; idx += blockDim.x) {
            const int r = idx / d, t = idx % d;
            if (i0 + r < nq) atomicAdd(gq + ((size_t) h * nq + i0 + r) * d + t, dqs[r * gk_stride + t]);
        }
    }
    __syncthreads();
    const int kn = min(TC_KEYS, nk - j0);
    for (int idx = threadIdx.x; idx < kn * d; idx += blockDim.x) {
        const int c = idx / d, t = idx % d;
        gk.store(((size_t) h * nk + j0 + c) * d + t, gks[c * gk_stride + t]);
    }
    for (int idx = threadIdx.x; idx < kn * dv; idx += blockDim.x) {
        const int c = idx / dv, e = idx % dv;
        gv.store(((size_t) h * nk + j0 + c) * dv + e, gvs[c * gv_stride + e]);
    }
}

// Grid: (ceil(nk / TC_KEYS), bh) blocks of TC_THREADS threads, attention_tc_backward_smem_bytes(dp, dvp) of dynamic
// shared memory; d and dv at most TC_MAX_DIM; gq zeroed by the caller.
extern "C" __global__ void __launch_bounds__(TC_THREADS, TC_MIN_BLOCKS)
attention_backward_tc_bf16(Typed q, Typed k, Typed v, Typed g_out, const float* __restrict__ lse,
                           const float* __restrict__ delta, float* __restrict__ gq, Typed gk, Typed gv, int nq,
                           int nk, int d, int dv, float scale, int causal) {
#if TF_BF16_MMA
    attention_backward_tc<Bf16>(q, k, v, g_out, lse, delta, gq, gk, gv, nq, nk, d, dv, scale, causal);
#else
    __trap();  // io.texforce.cuda.TensorCoreAttention.supported: never launched below sm_80
#endif
}

extern "C" __global__ void __launch_bounds__(TC_THREADS, TC_MIN_BLOCKS)
attention_backward_tc_fp16(Typed q, Typed k, Typed v, Typed g_out, const float* __restrict__ lse,
                           const float* __restrict__ delta, float* __restrict__ gq, Typed gk, Typed gv, int nq,
                           int nk, int d, int dv, float scale, int causal) {
    attention_backward_tc<Fp16>(q, k, v, g_out, lse, delta, gq, gk, gv, nq, nk, d, dv, scale, causal);
}
