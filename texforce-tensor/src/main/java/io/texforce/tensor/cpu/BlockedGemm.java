package io.texforce.tensor.cpu;

import static io.texforce.tensor.cpu.GemmMicroKernel.MR;
import static io.texforce.tensor.cpu.GemmMicroKernel.NR;

/**
 * Single-threaded cache-blocked SGEMM over a rectangle of C, the unit of work {@link Gemm} hands to each thread.
 *
 * <p>Loop nest (outer to inner): NC columns of C, KC inner indices, MC rows, NR columns, MR rows. A KC x NC panel
 * of op(B) is packed once and reused by every row block (it lives in L3); an MC x KC block of op(A) is packed once
 * per panel and reused across all column strips (L2); one KC x NR strip of B is reused across all row strips of
 * the block (L1) while the micro-kernel streams A past it.
 */
final class BlockedGemm {
    /** Inner-dimension block: one packed B strip (KC x NR floats = 16 KiB on AVX2) stays in L1. */
    static final int KC = 256;
    /** Row block: the packed A block (MC x KC floats = 140 KiB) stays in a 512 KiB L2. */
    static final int MC = 140;
    /** Column block: the packed B panel (KC x NC floats = 4 MiB) fits a shared L3. */
    static final int NC = 4096;

    private static final ThreadLocal<Workspace> WORKSPACE = ThreadLocal.withInitial(Workspace::new);

    private BlockedGemm() {
    }

    /**
     * Computes rows [rowFrom, rowTo) and columns [colFrom, colTo) of C. Never forks, so a caller may run it inside
     * a parallel loop body; the packing buffers it borrows are per thread and released before it returns.
     */
    static void run(GemmProblem g, int rowFrom, int rowTo, int colFrom, int colTo) {
        Workspace ws = WORKSPACE.get();
        int k = g.k();
        for (int jc = colFrom; jc < colTo; jc += NC) {
            int nc = Math.min(NC, colTo - jc);
            for (int pc = 0; pc < k; pc += KC) {
                int kc = Math.min(KC, k - pc);
                boolean add = g.accumulate() || pc > 0;
                float[] bPack = ws.bPack(kc * roundUp(nc, NR));
                GemmPacking.packB(g, pc, kc, jc, nc, bPack);
                for (int ic = rowFrom; ic < rowTo; ic += MC) {
                    int mc = Math.min(MC, rowTo - ic);
                    float[] aPack = ws.aPack(kc * roundUp(mc, MR));
                    GemmPacking.packA(g, ic, mc, pc, kc, aPack);
                    macroKernel(g, ws, aPack, mc, bPack, nc, kc, ic, jc, add);
                }
            }
        }
    }

    /** Multiplies one packed A block by one packed B panel into C[ic.., jc..]. */
    private static void macroKernel(GemmProblem g, Workspace ws, float[] aPack, int mc, float[] bPack, int nc,
                                    int kc, int ic, int jc, boolean add) {
        float[] c = g.c();
        int ldc = g.ldc();
        for (int jr = 0; jr < nc; jr += NR) {
            int nr = Math.min(NR, nc - jr);
            for (int ir = 0; ir < mc; ir += MR) {
                int mr = Math.min(MR, mc - ir);
                int co = g.cOff() + (ic + ir) * ldc + jc + jr;
                if (mr == MR && nr == NR) {
                    GemmMicroKernel.tile(kc, aPack, ir * kc, bPack, jr * kc, c, co, ldc, add);
                } else {
                    // Edge tile: compute the whole padded tile aside and copy back only the part inside C.
                    float[] t = ws.tile;
                    GemmMicroKernel.tile(kc, aPack, ir * kc, bPack, jr * kc, t, 0, NR, false);
                    for (int r = 0; r < mr; r++) {
                        int o = co + r * ldc;
                        for (int j = 0; j < nr; j++) {
                            c[o + j] = add ? c[o + j] + t[r * NR + j] : t[r * NR + j];
                        }
                    }
                }
            }
        }
    }

    private static int roundUp(int x, int multiple) {
        return (x + multiple - 1) / multiple * multiple;
    }

    /** Per-thread packing buffers, grown on demand and kept for the thread's lifetime. */
    private static final class Workspace {
        private float[] aPack = new float[0];
        private float[] bPack = new float[0];
        final float[] tile = new float[MR * NR];

        float[] aPack(int size) {
            if (aPack.length < size) {
                aPack = new float[size];
            }
            return aPack;
        }

        float[] bPack(int size) {
            if (bPack.length < size) {
                bPack = new float[size];
            }
            return bPack;
        }
    }
}
