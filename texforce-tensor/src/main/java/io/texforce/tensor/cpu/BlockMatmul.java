package io.texforce.tensor.cpu;

import jdk.incubator.vector.FloatVector;
import jdk.incubator.vector.VectorSpecies;

/**
 * Register-blocked SIMD product for the small, cache-resident blocks of the attention kernels, where a general
 * GEMM call would cost more in packing and dispatch than the block's arithmetic:
 * {@code C[m, width] (+)= op(A)[m, k] * B[k, width]}.
 *
 * <p>Element (i, p) of op(A) is {@code a[aOff + i*aRow + p*aCol]}, so either a row-major block or its transpose can
 * be read in place. B and C are row-major with row strides {@code ldb} and {@code ldc}; {@code width} must be a
 * multiple of {@link #lanes()} (callers zero-pad their buffers to it).
 */
final class BlockMatmul {
    static final VectorSpecies<Float> F = FloatVector.SPECIES_PREFERRED;
    private static final int L = F.length();

    private BlockMatmul() {
    }

    /** The SIMD width that {@code width} arguments must be a multiple of. */
    static int lanes() {
        return L;
    }

    /** Rounds {@code n} up to a multiple of {@link #lanes()}. */
    static int padded(int n) {
        return (n + L - 1) / L * L;
    }

    static void multiply(int m, int width, int k,
                         float[] a, int aOff, int aRow, int aCol,
                         float[] b, int bOff, int ldb,
                         float[] c, int cOff, int ldc, boolean accumulate) {
        int i = 0;
        for (; i + 4 <= m; i += 4) {
            int j = 0;
            for (; j + 2 * L <= width; j += 2 * L) {
                tile4x2(k, a, aOff + i * aRow, aRow, aCol, b, bOff + j, ldb, c, cOff + i * ldc + j, ldc, accumulate);
            }
            if (j < width) {
                tile4x1(k, a, aOff + i * aRow, aRow, aCol, b, bOff + j, ldb, c, cOff + i * ldc + j, ldc, accumulate);
            }
        }
        for (; i < m; i++) {
            for (int j = 0; j < width; j += L) {
                tile1x1(k, a, aOff + i * aRow, aCol, b, bOff + j, ldb, c, cOff + i * ldc + j, accumulate);
            }
        }
    }

    private static void tile4x2(int k, float[] a, int aOff, int aRow, int aCol, float[] b, int bOff, int ldb,
                                float[] c, int cOff, int ldc, boolean accumulate) {
        int c1 = cOff + ldc, c2 = c1 + ldc, c3 = c2 + ldc;
        FloatVector s00, s01, s10, s11, s20, s21, s30, s31;
        if (accumulate) {
            s00 = FloatVector.fromArray(F, c, cOff);
            s01 = FloatVector.fromArray(F, c, cOff + L);
            s10 = FloatVector.fromArray(F, c, c1);
            s11 = FloatVector.fromArray(F, c, c1 + L);
            s20 = FloatVector.fromArray(F, c, c2);
            s21 = FloatVector.fromArray(F, c, c2 + L);
            s30 = FloatVector.fromArray(F, c, c3);
            s31 = FloatVector.fromArray(F, c, c3 + L);
        } else {
            s00 = s01 = s10 = s11 = s20 = s21 = s30 = s31 = FloatVector.zero(F);
        }
        for (int p = 0, ap = aOff, bp = bOff; p < k; p++, ap += aCol, bp += ldb) {
            var b0 = FloatVector.fromArray(F, b, bp);
            var b1 = FloatVector.fromArray(F, b, bp + L);
            var x0 = FloatVector.broadcast(F, a[ap]);
            s00 = b0.fma(x0, s00);
            s01 = b1.fma(x0, s01);
            var x1 = FloatVector.broadcast(F, a[ap + aRow]);
            s10 = b0.fma(x1, s10);
            s11 = b1.fma(x1, s11);
            var x2 = FloatVector.broadcast(F, a[ap + 2 * aRow]);
            s20 = b0.fma(x2, s20);
            s21 = b1.fma(x2, s21);
            var x3 = FloatVector.broadcast(F, a[ap + 3 * aRow]);
            s30 = b0.fma(x3, s30);
            s31 = b1.fma(x3, s31);
        }
        s00.intoArray(c, cOff);
        s01.intoArray(c, cOff + L);
        s10.intoArray(c, c1);
        s11.intoArray(c, c1 + L);
        s20.intoArray(c, c2);
        s21.intoArray(c, c2 + L);
        s30.intoArray(c, c3);
        s31.intoArray(c, c3 + L);
    }

    private static void tile4x1(int k, float[] a, int aOff, int aRow, int aCol, float[] b, int bOff, int ldb,
                                float[] c, int cOff, int ldc, boolean accumulate) {
        int c1 = cOff + ldc, c2 = c1 + ldc, c3 = c2 + ldc;
        FloatVector s0, s1, s2, s3;
        if (accumulate) {
            s0 = FloatVector.fromArray(F, c, cOff);
            s1 = FloatVector.fromArray(F, c, c1);
            s2 = FloatVector.fromArray(F, c, c2);
            s3 = FloatVector.fromArray(F, c, c3);
        } else {
            s0 = s1 = s2 = s3 = FloatVector.zero(F);
        }
        for (int p = 0, ap = aOff, bp = bOff; p < k; p++, ap += aCol, bp += ldb) {
            var bv = FloatVector.fromArray(F, b, bp);
            s0 = bv.fma(FloatVector.broadcast(F, a[ap]), s0);
            s1 = bv.fma(FloatVector.broadcast(F, a[ap + aRow]), s1);
            s2 = bv.fma(FloatVector.broadcast(F, a[ap + 2 * aRow]), s2);
            s3 = bv.fma(FloatVector.broadcast(F, a[ap + 3 * aRow]), s3);
        }
        s0.intoArray(c, cOff);
        s1.intoArray(c, c1);
        s2.intoArray(c, c2);
        s3.intoArray(c, c3);
    }

    private static void tile1x1(int k, float[] a, int aOff, int aCol, float[] b, int bOff, int ldb,
                                float[] c, int cOff, boolean accumulate) {
        var s = accumulate ? FloatVector.fromArray(F, c, cOff) : FloatVector.zero(F);
        for (int p = 0, ap = aOff, bp = bOff; p < k; p++, ap += aCol, bp += ldb) {
            s = FloatVector.fromArray(F, b, bp).fma(FloatVector.broadcast(F, a[ap]), s);
        }
        s.intoArray(c, cOff);
    }
}
