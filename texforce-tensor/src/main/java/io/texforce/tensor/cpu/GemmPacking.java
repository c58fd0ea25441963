package io.texforce.tensor.cpu;

import static io.texforce.tensor.cpu.GemmMicroKernel.MR;
import static io.texforce.tensor.cpu.GemmMicroKernel.NR;
import static io.texforce.tensor.cpu.GemmMicroKernel.SPECIES;
import static io.texforce.tensor.cpu.GemmMicroKernel.VL;

import java.util.Arrays;
import jdk.incubator.vector.FloatVector;

/**
 * Copies blocks of op(A) and op(B) into the contiguous strip layout {@link GemmMicroKernel} reads, so that the
 * kernel sees unit-stride data whatever the transposes, offsets and leading dimensions of the caller. Partial
 * strips at the matrix edges are padded with zeros, which lets the kernel always compute whole tiles.
 */
final class GemmPacking {
    private GemmPacking() {
    }

    /**
     * Packs rows [i0, i0+mc) and inner indices [p0, p0+kc) of op(A) into strips of MR rows: strip s holds, for
     * each inner index p, the MR values of its rows at {@code dst[s*MR*kc + p*MR + r]}.
     */
    static void packA(GemmProblem g, int i0, int mc, int p0, int kc, float[] dst) {
        if (g.aHalf() != null) {
            packHalfA(g, i0, mc, p0, kc, dst);
            return;
        }
        for (int s = 0; s < mc; s += MR) {
            int rows = Math.min(MR, mc - s);
            if (rows == MR) {
                packFullStripA(g, i0 + s, p0, kc, dst, s * kc);
            } else {
                packPartialStripA(g, i0 + s, rows, p0, kc, dst, s * kc);
            }
        }
    }

    /**
     * One strip of exactly MR rows. Packing A is a visible cost when N is small, so the loops are shaped for speed
     * (measured: about twice as fast as System.arraycopy of MR values or an element-wise loop over both indices).
     */
    private static void packFullStripA(GemmProblem g, int i, int p0, int kc, float[] dst, int d) {
        float[] a = g.a();
        int lda = g.lda();
        if (g.transA()) {
            // Stored [K, M]: the MR values of one inner index are adjacent in memory.
            for (int p = 0, src = g.aOff() + p0 * lda + i; p < kc; p++, src += lda, d += MR) {
                dst[d] = a[src];
                dst[d + 1] = a[src + 1];
                dst[d + 2] = a[src + 2];
                dst[d + 3] = a[src + 3];
                dst[d + 4] = a[src + 4];
            }
        } else {
            // Stored [M, K]: read each row once, sequentially, and scatter it into its lane of the strip.
            for (int r = 0; r < MR; r++) {
                int src = g.aOff() + (i + r) * lda + p0;
                for (int p = 0; p < kc; p++) {
                    dst[d + p * MR + r] = a[src + p];
                }
            }
        }
    }

    /** The last strip of a block, with fewer than MR rows: padded with zero rows. */
    private static void packPartialStripA(GemmProblem g, int i, int rows, int p0, int kc, float[] dst, int d) {
        for (int p = 0; p < kc; p++, d += MR) {
            for (int r = 0; r < MR; r++) {
                dst[d + r] = r < rows ? g.opA(i + r, p0 + p) : 0f;
            }
        }
    }

    /**
     * Packs inner indices [p0, p0+kc) and columns [j0, j0+nc) of op(B) into strips of NR columns: strip s holds,
     * for each inner index p, the NR values of its columns at {@code dst[s*NR*kc + p*NR + j]}.
     */
    static void packB(GemmProblem g, int p0, int kc, int j0, int nc, float[] dst) {
        if (g.bHalf() != null) {
            packHalfB(g, p0, kc, j0, nc, dst);
            return;
        }
        float[] b = g.b();
        int ldb = g.ldb();
        for (int s = 0; s < nc; s += NR) {
            int cols = Math.min(NR, nc - s);
            int d = s * kc;
            if (!g.transB()) {
                // Stored [K, N]: each row of the strip is a contiguous run of B.
                int src = g.bOff() + p0 * ldb + j0 + s;
                if (cols == NR) {
                    for (int p = 0; p < kc; p++, src += ldb, d += NR) {
                        copyPackedRow(b, src, dst, d);
                    }
                } else {
                    for (int p = 0; p < kc; p++, src += ldb, d += NR) {
                        System.arraycopy(b, src, dst, d, cols);
                        Arrays.fill(dst, d + cols, d + NR, 0f);
                    }
                }
            } else {
                for (int j = 0; j < NR; j++) {
                    if (j < cols) {
                        int src = g.bOff() + (j0 + s + j) * ldb + p0;
                        for (int p = 0; p < kc; p++) {
                            dst[d + p * NR + j] = b[src + p];
                        }
                    } else {
                        for (int p = 0; p < kc; p++) {
                            dst[d + p * NR + j] = 0f;
                        }
                    }
                }
            }
        }
    }

    /** {@link #packA} of a 16-bit A: each row of a strip is gathered into its lane, widened on the way. */
    private static void packHalfA(GemmProblem g, int i0, int mc, int p0, int kc, float[] dst) {
        HalfStorage a = g.aHalf();
        int lda = g.lda();
        // Along the inner index, op(A) steps by lda when stored [K, M] and by 1 when stored [M, K].
        int step = g.transA() ? lda : 1, rowStep = g.transA() ? 1 : lda;
        for (int s = 0; s < mc; s += MR) {
            int rows = Math.min(MR, mc - s), d = s * kc;
            for (int r = 0; r < MR; r++) {
                if (r < rows) {
                    int src = g.aOff() + (i0 + s + r) * rowStep + p0 * step;
                    a.widen(src, step, dst, d + r, MR, kc);
                } else {
                    for (int p = 0; p < kc; p++) {
                        dst[d + p * MR + r] = 0f;
                    }
                }
            }
        }
    }

    /** {@link #packB} of a 16-bit B, widened on the way. */
    private static void packHalfB(GemmProblem g, int p0, int kc, int j0, int nc, float[] dst) {
        HalfStorage b = g.bHalf();
        int ldb = g.ldb();
        for (int s = 0; s < nc; s += NR) {
            int cols = Math.min(NR, nc - s), d = s * kc;
            if (!g.transB()) {
                int src = g.bOff() + p0 * ldb + j0 + s;
                for (int p = 0; p < kc; p++, src += ldb, d += NR) {
                    b.widen(src, dst, d, cols);
                    Arrays.fill(dst, d + cols, d + NR, 0f);
                }
            } else {
                for (int j = 0; j < NR; j++) {
                    if (j < cols) {
                        b.widen(g.bOff() + (j0 + s + j) * ldb + p0, 1, dst, d + j, NR, kc);
                    } else {
                        for (int p = 0; p < kc; p++) {
                            dst[d + p * NR + j] = 0f;
                        }
                    }
                }
            }
        }
    }

    /** Copies one full strip row of NR floats; two vector moves beat System.arraycopy at this length. */
    private static void copyPackedRow(float[] src, int so, float[] dst, int d) {
        FloatVector.fromArray(SPECIES, src, so).intoArray(dst, d);
        FloatVector.fromArray(SPECIES, src, so + VL).intoArray(dst, d + VL);
    }
}
