package io.texforce.benchmarks;

import io.texforce.tensor.cpu.NormKernels;
import org.openjdk.jmh.annotations.Benchmark;
import org.openjdk.jmh.annotations.Setup;

/**
 * Group norm of 320 channels in 32 groups over 64x64 pixels, batch 1. BLAS has no group norm, so the yardstick is
 * a plain copy of the same array: a memory-bound kernel cannot beat reading its input and writing its output once.
 */
public class GroupNormBenchmark extends KernelBenchmark {
    static final int CHANNELS = 320;
    static final int GROUPS = 32;
    static final int PIXELS = 64 * 64;
    /** Minimum traffic of both kernels: read the input once, write the output once. */
    static final double BYTES = 2.0 * CHANNELS * PIXELS * Float.BYTES;

    private float[] x;
    private float[] y;
    private float[] gamma;
    private float[] beta;
    private float[] mean;
    private float[] rstd;

    @Setup
    public void setup() {
        x = randomArray(CHANNELS * PIXELS, 8);
        y = new float[CHANNELS * PIXELS];
        gamma = randomArray(CHANNELS, 9);
        beta = randomArray(CHANNELS, 10);
        mean = new float[GROUPS];
        rstd = new float[GROUPS];
    }

    @Benchmark
    public void texforce() {
        NormKernels.groupNorm(x, 1, CHANNELS, PIXELS, GROUPS, gamma, beta, 1e-5f, y, mean, rstd);
    }

    @Benchmark
    public void memoryCopy() {
        System.arraycopy(x, 0, y, 0, x.length);
    }
}
