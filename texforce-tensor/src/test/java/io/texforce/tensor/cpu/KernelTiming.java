package io.texforce.tensor.cpu;

import static io.texforce.tensor.cpu.KernelChecks.random;

/**
 * Ad-hoc throughput check of the CPU kernels at Stable Diffusion sizes against a GEMM with the same FLOP count
 * (not a unit test; run its main by hand). Prints best-of-N wall time and GFLOP/s.
 */
public final class KernelTiming {
    private KernelTiming() {
    }

    private static String filter = "";

    /** Arguments: [repetitions [name filter]]; only timings whose name contains the filter run. */
    public static void main(String[] args) {
        int reps = args.length > 0 ? Integer.parseInt(args[0]) : 3;
        filter = args.length > 1 ? args[1] : "";
        System.out.println("threads=" + Parallel.threads() + " SIMD lanes=" + GemmMicroKernel.VL);

        int c = 320, hw = 64, o = 320;
        float[] x = random(1, c * hw * hw), w = random(2, o * c * 9), b = random(3, o);
        float[] y = new float[o * hw * hw], gx = new float[x.length], gw = new float[w.length], gb = new float[o];
        double convFlops = 2.0 * o * c * 9 * hw * hw;
        time("conv3x3 320->320 64x64 forward", convFlops, reps,
                () -> Conv2dKernel.forward(x, 1, c, hw, hw, w, o, 3, 3, b, 1, 1, 1, y));
        time("conv3x3 320->320 64x64 backwardInput", convFlops, reps,
                () -> Conv2dKernel.backwardInput(y, w, 1, c, hw, hw, o, 3, 3, 1, 1, 1, gx));
        time("conv3x3 320->320 64x64 backwardWeight", convFlops, reps,
                () -> Conv2dKernel.backwardWeight(y, x, 1, c, hw, hw, o, 3, 3, 1, 1, 1, gw, gb));
        float[] col = new float[c * 9 * hw * hw];
        time("sgemm 320x4096x2880 (conv FLOPs)", convFlops, reps,
                () -> Gemm.sgemm(false, false, o, hw * hw, c * 9, w, 0, c * 9, col, 0, hw * hw, y, 0, hw * hw, false));

        for (int d : new int[] {40, 64}) {
            int heads = 8, n = 4096;
            float[] q = random(4, heads * n * d), k = random(5, heads * n * d), v = random(6, heads * n * d);
            float[] out = new float[q.length], lse = new float[heads * n];
            float[] gq = new float[q.length], gk = new float[q.length], gv = new float[q.length];
            double attnFlops = 4.0 * heads * n * n * d;
            float scale = (float) (1 / Math.sqrt(d));
            time("attention 8x4096x4096 d=" + d + " forward", attnFlops, reps,
                    () -> AttentionKernel.forward(q, k, v, heads, n, n, d, d, scale, false, out, lse));
            time("attention 8x4096x4096 d=" + d + " backward", 2.5 * attnFlops, reps,
                    () -> AttentionKernel.backward(q, k, v, out, out, lse, heads, n, n, d, d, scale, false, gq, gk, gv));
            time("attention 8x4096x77 d=" + d + " forward (cross)", 4.0 * heads * n * 77 * d, reps,
                    () -> AttentionKernel.forward(q, k, v, heads, n, 77, d, d, scale, false, out, lse));
        }
        float[] a = random(7, 4096 * 640), bb = random(8, 640 * 4096), cc = new float[4096 * 4096];
        time("sgemm 4096x4096x640 (attention d=40 FLOPs)", 2.0 * 4096 * 4096 * 640, reps,
                () -> Gemm.sgemm(false, false, 4096, 4096, 640, a, 0, 640, bb, 0, 4096, cc, 0, 4096, false));

        float[] gnY = new float[x.length], mean = new float[32], rstd = new float[32];
        time("groupNorm 320x4096 (32 groups) forward", 0, reps,
                () -> NormKernels.groupNorm(x, 1, c, hw * hw, 32, b, b, 1e-5f, gnY, mean, rstd));
        time("groupNorm 320x4096 (32 groups) backward", 0, reps,
                () -> NormKernels.groupNormBackward(y, x, mean, rstd, b, 1, c, hw * hw, 32, gx, gb, gb));
    }

    private static void time(String what, double flops, int reps, Runnable body) {
        if (!what.contains(filter)) {
            return;
        }
        body.run();
        long best = Long.MAX_VALUE;
        for (int i = 0; i < reps; i++) {
            long t0 = System.nanoTime();
            body.run();
            best = Math.min(best, System.nanoTime() - t0);
        }
        double ms = best / 1e6;
        System.out.printf("%-52s %9.1f ms%s%n", what, ms, flops > 0 ? "  %6.1f GFLOP/s".formatted(flops / best) : "");
    }
}
