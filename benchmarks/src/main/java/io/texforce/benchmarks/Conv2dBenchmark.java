package io.texforce.benchmarks;

import io.texforce.tensor.cpu.Conv2dKernel;
import io.texforce.tensor.cpu.Parallel;
import java.lang.foreign.MemorySegment;
import java.lang.foreign.ValueLayout;
import org.bytedeco.javacpp.FloatPointer;
import org.openjdk.jmh.annotations.Benchmark;
import org.openjdk.jmh.annotations.Measurement;
import org.openjdk.jmh.annotations.Setup;
import org.openjdk.jmh.annotations.TearDown;
import org.openjdk.jmh.annotations.Warmup;

/**
 * 3x3 convolution, 320 -> 320 channels, 64x64 pixels, batch 1, stride 1, padding 1 (the first level of the SD
 * UNet): {@link Conv2dKernel#forward} against the classic im2col + OpenBLAS sgemm lowering
 * {@code Y[320, 4096] = W[320, 2880] Col[2880, 4096]}. The baseline's im2col runs in Java on both threads and is
 * part of its time, as it is in frameworks that lower convolutions this way.
 *
 * <p>One operation takes long enough that fewer, longer iterations than the other benchmarks suffice.
 */
@Warmup(iterations = 2, time = 1)
@Measurement(iterations = 3, time = 2)
public class Conv2dBenchmark extends KernelBenchmark {
    static final int C = 320;
    static final int O = 320;
    static final int H = 64;
    static final int W = 64;
    static final int KH = 3;
    static final int KW = 3;
    /** Multiply-adds x 2 of the convolution, padding taps included (as the GEMM lowering computes them). */
    static final double FLOPS = 2.0 * O * C * KH * KW * H * W;

    private float[] x;
    private float[] weight;
    float[] y;
    private FloatPointer pw;
    private FloatPointer pcol;
    FloatPointer py;
    private MemorySegment col;

    @Setup
    public void setup() {
        x = randomArray(C * H * W, 3);
        weight = randomArray(O * C * KH * KW, 4);
        y = new float[O * H * W];
        OpenBlas.init();
        pw = OpenBlas.copyOf(weight);
        pcol = OpenBlas.allocate((long) C * KH * KW * H * W);
        py = OpenBlas.allocate((long) O * H * W);
        col = OpenBlas.view(pcol);
    }

    @TearDown
    public void tearDown() {
        pw.close();
        pcol.close();
        py.close();
    }

    @Benchmark
    public void texforce() {
        Conv2dKernel.forward(x, 1, C, H, W, weight, O, KH, KW, null, 1, 1, 1, y);
    }

    @Benchmark
    public void openblasIm2col() {
        Parallel.forRange(C * KH * KW, 16, (from, to) -> {
            for (int row = from; row < to; row++) {
                im2colRow(row);
            }
        });
        OpenBlas.sgemm(false, O, H * W, C * KH * KW, pw, pcol, py);
    }

    /** Row (c, i, j) of the column matrix: channel c shifted by (i - 1, j - 1), zero outside the image. */
    private void im2colRow(int row) {
        int ch = row / (KH * KW), i = row / KW % KH - 1, j = row % KW - 1;
        long base = (long) row * H * W;
        int x0 = Math.max(0, -j), x1 = Math.min(W, W - j);
        for (int oy = 0; oy < H; oy++) {
            long dst = (base + (long) oy * W) * Float.BYTES;
            int iy = oy + i;
            if (iy < 0 || iy >= H) {
                col.asSlice(dst, (long) W * Float.BYTES).fill((byte) 0);
                continue;
            }
            if (x0 > 0) {
                col.set(ValueLayout.JAVA_FLOAT, dst, 0f);
            }
            if (x1 < W) {
                col.set(ValueLayout.JAVA_FLOAT, dst + (long) (W - 1) * Float.BYTES, 0f);
            }
            MemorySegment.copy(x, (ch * H + iy) * W + x0 + j, col, ValueLayout.JAVA_FLOAT,
                    dst + (long) x0 * Float.BYTES, x1 - x0);
        }
    }
}
