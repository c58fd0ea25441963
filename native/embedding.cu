// Embedding lookup: rows of weight [vocab, dim] picked by int ids; the backward scatter-adds into a zeroed
// [vocab, dim] gradient (atomics, since an id may repeat). Ids are validated on the host.
#include "common.cuh"

extern "C" __global__ void embedding_gather(const float* __restrict__ weight, const int* __restrict__ ids,
                                            float* __restrict__ out, int count, int dim) {
    TF_FOR(i, count * dim) {
        int t = i / dim, j = i % dim;
        out[i] = weight[(size_t) ids[t] * dim + j];
    }
}

extern "C" __global__ void embedding_scatter_add(const float* __restrict__ gy, const int* __restrict__ ids,
                                                 float* __restrict__ g_weight, int count, int dim) {
    TF_FOR(i, count * dim) {
        int t = i / dim, j = i % dim;
        atomicAdd(g_weight + (size_t) ids[t] * dim + j, gy[i]);
    }
}
