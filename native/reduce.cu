// Reductions of a dense [rows, len] matrix: over each row (the reduced dims moved last by the caller), or over
// the leading dim of [len, cols] (bias gradients), which reads the input once with coalesced loads.
// Op codes are the ordinals of io.texforce.tensor.ReduceOp. Sums accumulate in double, as the CPU backend does. The
// input may be 16-bit (Typed); results are float32.
#include "common.cuh"
#include "typed.cuh"

enum ReduceCode { R_SUM, R_MEAN, R_MAX, R_MIN };

// One block per row; out[row] = op over x[row, 0..len).
extern "C" __global__ void reduce_rows(int op, Typed x, float* __restrict__ out, int rows, int len) {
    __shared__ double dscratch[32];
    __shared__ float fscratch[32];
    int row = blockIdx.x;
    if (row >= rows) return;
    const size_t r = (size_t) row * len;
    if (op == R_SUM || op == R_MEAN) {
        double s = 0;
        for (int i = threadIdx.x; i < len; i += blockDim.x) s += x.load(r + i);
        s = tf_block_sum(s, dscratch);
        if (threadIdx.x == 0) out[row] = (float) (op == R_MEAN ? s / len : s);
    } else {
        bool is_max = op == R_MAX;
        float m = is_max ? -INFINITY : INFINITY;
        for (int i = threadIdx.x; i < len; i += blockDim.x) {
            const float v = x.load(r + i);
            m = is_max ? fmaxf(m, v) : fminf(m, v);
        }
        m = tf_block_max(is_max ? m : -m, fscratch);
        if (threadIdx.x == 0) out[row] = is_max ? m : -m;
    }
}

// out[c] = sum (or mean) over r of x[r, c] for x [len, cols]; one thread per column.
extern "C" __global__ void reduce_columns(int op, Typed x, float* __restrict__ out, int len, int cols) {
    TF_FOR(c, cols) {
        double s = 0;
        for (int r = 0; r < len; r++) s += x.load((size_t) r * cols + c);
        out[c] = (float) (op == R_MEAN ? s / len : s);
    }
}
