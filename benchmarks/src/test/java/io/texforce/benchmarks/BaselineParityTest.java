package io.texforce.benchmarks;

import static org.junit.jupiter.api.Assertions.assertTrue;

import org.bytedeco.javacpp.FloatPointer;
import org.junit.jupiter.api.Test;

/**
 * A speed comparison only means something if both sides compute the same thing: each benchmark's TexForce result
 * must match its OpenBLAS baseline on the benchmark's own data.
 */
class BaselineParityTest {
    @Test
    void gemmMatchesOpenBlas() {
        var bench = new GemmBenchmark();
        bench.shape = "4096x320x320";
        bench.setup();
        try {
            bench.texforce();
            bench.openblas();
            assertClose("GEMM 4096x320x320", bench.c, bench.pc, 1e-4);
        } finally {
            bench.tearDown();
        }
    }

    @Test
    void conv2dMatchesIm2colSgemm() {
        var bench = new Conv2dBenchmark();
        bench.setup();
        try {
            bench.texforce();
            bench.openblasIm2col();
            assertClose("conv2d 3x3 320->320 64x64", bench.y, bench.py, 1e-4);
        } finally {
            bench.tearDown();
        }
    }

    @Test
    void attentionMatchesUnfusedBaseline() {
        var bench = new AttentionBenchmark();
        bench.setup();
        try {
            bench.texforce();
            bench.openblasUnfused();
            assertClose("attention 8x4096x40", bench.out, bench.pOut, 1e-5);
        } finally {
            bench.tearDown();
        }
    }

    /** Max |ours - baseline| relative to the largest baseline magnitude. */
    private static void assertClose(String what, float[] ours, FloatPointer baseline, double tolerance) {
        float[] ref = new float[ours.length];
        baseline.position(0).get(ref);
        double worst = 0, scale = 0;
        for (int i = 0; i < ours.length; i++) {
            worst = Math.max(worst, Math.abs(ours[i] - ref[i]));
            scale = Math.max(scale, Math.abs(ref[i]));
        }
        System.out.printf("%s: max |ours - OpenBLAS| = %.2e (max |OpenBLAS| = %.2e)%n", what, worst, scale);
        assertTrue(scale > 0, what + ": baseline is all zeros");
        assertTrue(worst <= tolerance * scale, what + ": max difference " + worst + " exceeds " + tolerance * scale);
    }
}
