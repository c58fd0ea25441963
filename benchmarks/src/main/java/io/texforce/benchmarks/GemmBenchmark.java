package io.texforce.benchmarks;

import io.texforce.tensor.cpu.Gemm;
import org.bytedeco.javacpp.FloatPointer;
import org.openjdk.jmh.annotations.Benchmark;
import org.openjdk.jmh.annotations.Param;
import org.openjdk.jmh.annotations.Setup;
import org.openjdk.jmh.annotations.TearDown;

/**
 * SGEMM {@code C = A B} (row-major, no transposes): {@link Gemm#sgemm} against OpenBLAS {@code cblas_sgemm} on the
 * same values. Shapes: the classic 1024^3, the tall-skinny projections of SD's 64x64 UNet level (4096 tokens,
 * 320 channels, 4x MLP) and the GEMM a 3x3 320-channel conv at 64x64 lowers to.
 */
public class GemmBenchmark extends KernelBenchmark {
    @Param({"1024x1024x1024", "4096x320x320", "4096x1280x320", "320x4096x2880"})
    public String shape;

    private int m;
    private int n;
    private int k;
    private float[] a;
    private float[] b;
    float[] c;
    private FloatPointer pa;
    private FloatPointer pb;
    FloatPointer pc;

    @Setup
    public void setup() {
        int[] mnk = parse(shape);
        m = mnk[0];
        n = mnk[1];
        k = mnk[2];
        a = randomArray(m * k, 1);
        b = randomArray(k * n, 2);
        c = new float[m * n];
        OpenBlas.init();
        pa = OpenBlas.copyOf(a);
        pb = OpenBlas.copyOf(b);
        pc = OpenBlas.allocate((long) m * n);
    }

    @TearDown
    public void tearDown() {
        pa.close();
        pb.close();
        pc.close();
    }

    @Benchmark
    public void texforce() {
        Gemm.sgemm(false, false, m, n, k, a, 0, k, b, 0, n, c, 0, n, false);
    }

    @Benchmark
    public void openblas() {
        OpenBlas.sgemm(false, m, n, k, pa, pb, pc);
    }

    /** Floating-point operations of one product of the given "MxNxK" shape. */
    static double flops(String shape) {
        int[] mnk = parse(shape);
        return 2.0 * mnk[0] * mnk[1] * mnk[2];
    }

    private static int[] parse(String shape) {
        String[] parts = shape.split("x");
        if (parts.length != 3) {
            throw new IllegalArgumentException("GEMM shape must be MxNxK, got '" + shape + "'");
        }
        return new int[] {Integer.parseInt(parts[0]), Integer.parseInt(parts[1]), Integer.parseInt(parts[2])};
    }
}
