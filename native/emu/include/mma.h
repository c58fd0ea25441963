// Warp matrix multiply-accumulate (nvcuda::wmma) for the CUDA host emulator, found before CUDA's own mma.h on the
// include path. A fragment holds its whole tile in every lane; loads read the whole tile, mma_sync multiplies in
// float32 (products of 16-bit inputs are exact in float32, as on tensor cores), and store_matrix_sync writes only
// the elements this lane would own in one legal distribution (element e goes to lane e % 32). So a warp that reads
// a stored tile before all its lanes have stored it (a missing __syncwarp) sees stale values, as it could on a GPU.
#pragma once

#include <type_traits>

namespace nvcuda {
namespace wmma {

struct matrix_a {};
struct matrix_b {};
struct accumulator {};
struct row_major {};
struct col_major {};
enum layout_t { mem_row_major, mem_col_major };

template <class Use, int M, int N, int K, class T, class Layout = void>
struct fragment {
    static constexpr int rows = std::is_same<Use, matrix_b>::value ? K : M;
    static constexpr int cols = std::is_same<Use, matrix_a>::value ? K : N;
    float v[rows][cols];
};

template <class Use, int M, int N, int K, class T, class Layout>
inline void fill_fragment(fragment<Use, M, N, K, T, Layout>& f, float value) {
    using F = fragment<Use, M, N, K, T, Layout>;
    for (int r = 0; r < F::rows; r++)
        for (int c = 0; c < F::cols; c++) f.v[r][c] = value;
}

template <class Use, int M, int N, int K, class T, class Layout>
inline void load_matrix_sync(fragment<Use, M, N, K, T, Layout>& f, const T* p, unsigned ldm) {
    using F = fragment<Use, M, N, K, T, Layout>;
    constexpr bool row = std::is_same<Layout, row_major>::value;
    static_assert(row || std::is_same<Layout, col_major>::value, "matrix_a/matrix_b fragments have a layout");
    for (int r = 0; r < F::rows; r++)
        for (int c = 0; c < F::cols; c++) f.v[r][c] = static_cast<float>(row ? p[r * ldm + c] : p[c * ldm + r]);
}

template <int M, int N, int K>
inline void load_matrix_sync(fragment<accumulator, M, N, K, float>& f, const float* p, unsigned ldm, layout_t l) {
    for (int r = 0; r < M; r++)
        for (int c = 0; c < N; c++) f.v[r][c] = l == mem_row_major ? p[r * ldm + c] : p[c * ldm + r];
}

template <int M, int N, int K>
inline void store_matrix_sync(float* p, const fragment<accumulator, M, N, K, float>& f, unsigned ldm, layout_t l) {
    const int lane = static_cast<int>(threadIdx.x) & 31;
    for (int e = lane; e < M * N; e += 32) {
        const int r = e / N, c = e % N;
        (l == mem_row_major ? p[r * ldm + c] : p[c * ldm + r]) = f.v[r][c];
    }
}

template <int M, int N, int K, class T, class LA, class LB>
inline void mma_sync(fragment<accumulator, M, N, K, float>& d, const fragment<matrix_a, M, N, K, T, LA>& a,
                     const fragment<matrix_b, M, N, K, T, LB>& b, const fragment<accumulator, M, N, K, float>& c) {
    float out[M][N];
    for (int r = 0; r < M; r++)
        for (int col = 0; col < N; col++) {
            float s = c.v[r][col];
            for (int k = 0; k < K; k++) s += a.v[r][k] * b.v[k][col];
            out[r][col] = s;
        }
    for (int r = 0; r < M; r++)
        for (int col = 0; col < N; col++) d.v[r][col] = out[r][col];
}

}  // namespace wmma
}  // namespace nvcuda
