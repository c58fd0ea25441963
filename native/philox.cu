// Philox4x32-10 counter-based random numbers, bit-compatible with io.texforce.tensor.random.Philox: the 64-bit
// seed is the key (low word, high word); element g of a stream is word g % 4 of the block whose counter is
// (low word of g/4, high word of g/4, 0, 0). Uniform: (word >> 8) * 2^-24. Normal: Box-Muller on word pairs
// (2k, 2k+1) of a block in double precision, rounded once to float.
#include "common.cuh"

__device__ __forceinline__ uint4 philox_block(uint32_t c0, uint32_t c1, uint32_t k0, uint32_t k1) {
    uint32_t c2 = 0, c3 = 0;
    for (int round = 0; round < 10; round++) {
        if (round > 0) {
            k0 += 0x9E3779B9u;
            k1 += 0xBB67AE85u;
        }
        uint32_t hi0 = __umulhi(0xD2511F53u, c0), lo0 = 0xD2511F53u * c0;
        uint32_t hi1 = __umulhi(0xCD9E8D57u, c2), lo1 = 0xCD9E8D57u * c2;
        uint32_t n0 = hi1 ^ c1 ^ k0, n2 = hi0 ^ c3 ^ k1;
        c0 = n0;
        c1 = lo1;
        c2 = n2;
        c3 = lo0;
    }
    return make_uint4(c0, c1, c2, c3);
}

__device__ __forceinline__ void box_muller(uint32_t a, uint32_t b, float* out) {
    double u = ((double) a + 0.5) * 0x1p-32;
    double theta = (double) b * (2.0 * 3.141592653589793 * 0x1p-32);
    double r = sqrt(-2.0 * log(u));
    out[0] = (float) (r * cos(theta));
    out[1] = (float) (r * sin(theta));
}

// out[j] = element offset + j of the stream for j in [0, n); one thread per Philox block.
extern "C" __global__ void philox_fill(unsigned long long seed, unsigned long long offset, float* __restrict__ out,
                                       int n, int normal) {
    if (n <= 0) return;
    unsigned long long first = offset, end = offset + (unsigned long long) n;
    unsigned long long first_block = first >> 2, blocks = ((end - 1) >> 2) - first_block + 1;
    uint32_t k0 = (uint32_t) seed, k1 = (uint32_t) (seed >> 32);
    for (unsigned long long t = blockIdx.x * (unsigned long long) blockDim.x + threadIdx.x; t < blocks;
         t += (unsigned long long) blockDim.x * gridDim.x) {
        unsigned long long block = first_block + t;
        uint4 w = philox_block((uint32_t) block, (uint32_t) (block >> 32), k0, k1);
        float values[4];
        if (normal) {
            box_muller(w.x, w.y, values);
            box_muller(w.z, w.w, values + 2);
        } else {
            values[0] = (w.x >> 8) * 0x1p-24f;
            values[1] = (w.y >> 8) * 0x1p-24f;
            values[2] = (w.z >> 8) * 0x1p-24f;
            values[3] = (w.w >> 8) * 0x1p-24f;
        }
        unsigned long long g0 = block << 2;
        for (int lane = 0; lane < 4; lane++) {
            unsigned long long g = g0 + lane;
            if (g >= first && g < end) out[g - first] = values[lane];
        }
    }
}
