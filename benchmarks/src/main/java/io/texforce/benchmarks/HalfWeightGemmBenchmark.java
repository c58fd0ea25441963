package io.texforce.benchmarks;

import io.texforce.tensor.WeightDtype;
import io.texforce.tensor.cpu.Gemm;
import io.texforce.tensor.cpu.HalfStorage;
import org.openjdk.jmh.annotations.Benchmark;
import org.openjdk.jmh.annotations.Param;
import org.openjdk.jmh.annotations.Setup;

/**
 * The Linear-layer GEMM {@code y = x W^T} (x [M, K] float32, W [N, K]) with the weight stored in fp32, bf16 or
 * fp16: what 16-bit weight storage costs in speed, the weight being widened while its panels are packed. Shapes
 * ("MxNxK"): the U-Net's 64x64-level projection and MLP (4096 tokens), and a text-encoder projection (2 x 77
 * tokens, 768 wide), where packing the weight is a larger share of the work.
 */
public class HalfWeightGemmBenchmark extends KernelBenchmark {
    @Param({"4096x320x320", "4096x1280x320", "154x768x768"})
    public String shape;

    private int m;
    private int n;
    private int k;
    private float[] x;
    private float[] weight;
    private HalfStorage bf16;
    private HalfStorage fp16;
    float[] y;

    @Setup
    public void setup() {
        String[] p = shape.split("x");
        m = Integer.parseInt(p[0]);
        n = Integer.parseInt(p[1]);
        k = Integer.parseInt(p[2]);
        x = randomArray(m * k, 1);
        weight = randomArray(n * k, 2);
        bf16 = HalfStorage.round(weight, WeightDtype.BF16);
        fp16 = HalfStorage.round(weight, WeightDtype.FP16);
        y = new float[m * n];
    }

    @Benchmark
    public void fp32() {
        Gemm.sgemm(false, true, m, n, k, x, 0, k, weight, 0, k, y, 0, n, false);
    }

    @Benchmark
    public void bf16() {
        Gemm.gemmBatched(1, false, true, m, n, k, x, null, 0, k, 0, null, bf16, 0, k, 0, y, 0, n, 0, false);
    }

    @Benchmark
    public void fp16() {
        Gemm.gemmBatched(1, false, true, m, n, k, x, null, 0, k, 0, null, fp16, 0, k, 0, y, 0, n, 0, false);
    }
}
