package io.texforce.benchmarks;

import io.texforce.tensor.cpu.AttentionKernel;
import org.openjdk.jmh.annotations.Benchmark;
import org.openjdk.jmh.annotations.Measurement;
import org.openjdk.jmh.annotations.Setup;
import org.openjdk.jmh.annotations.Warmup;

/**
 * The backward pass of the attention in {@link AttentionBenchmark} (4096 tokens, 8 heads of width 40), which a
 * training step through the U-Net runs once per attention layer. It has no BLAS baseline; its work is five
 * products of the forward's size (scores rebuilt, dP, dV, dK, dQ), {@link #FLOPS}.
 */
@Warmup(iterations = 2, time = 1)
@Measurement(iterations = 3, time = 2)
public class AttentionBackwardBenchmark extends KernelBenchmark {
    /** Five products of 2 * tokens^2 * dim FLOPs per head. */
    static final double FLOPS = 5 * 2.0 * AttentionBenchmark.HEADS * AttentionBenchmark.TOKENS
            * AttentionBenchmark.TOKENS * AttentionBenchmark.DIM;
    private static final int H = AttentionBenchmark.HEADS;
    private static final int N = AttentionBenchmark.TOKENS;
    private static final int D = AttentionBenchmark.DIM;
    private static final float SCALE = (float) (1 / Math.sqrt(D));

    private float[] q, k, v, out, lse, gOut, gq, gk, gv;

    @Setup
    public void setup() {
        int size = H * N * D;
        q = randomArray(size, 5);
        k = randomArray(size, 6);
        v = randomArray(size, 7);
        gOut = randomArray(size, 8);
        out = new float[size];
        lse = new float[H * N];
        gq = new float[size];
        gk = new float[size];
        gv = new float[size];
        AttentionKernel.forward(q, k, v, H, N, N, D, D, SCALE, false, out, lse);
    }

    @Benchmark
    public void texforce() {
        AttentionKernel.backward(q, k, v, out, gOut, lse, H, N, N, D, D, SCALE, false, gq, gk, gv);
    }
}
