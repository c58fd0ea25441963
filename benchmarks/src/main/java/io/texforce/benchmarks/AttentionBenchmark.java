package io.texforce.benchmarks;

import io.texforce.tensor.cpu.AttentionKernel;
import io.texforce.tensor.cpu.Parallel;
import java.lang.foreign.MemorySegment;
import java.nio.ByteOrder;
import jdk.incubator.vector.FloatVector;
import jdk.incubator.vector.VectorOperators;
import jdk.incubator.vector.VectorSpecies;
import org.bytedeco.javacpp.FloatPointer;
import org.openjdk.jmh.annotations.Benchmark;
import org.openjdk.jmh.annotations.Measurement;
import org.openjdk.jmh.annotations.Setup;
import org.openjdk.jmh.annotations.TearDown;
import org.openjdk.jmh.annotations.Warmup;

/**
 * Self-attention over 4096 tokens, 8 heads of width 40 (the 64x64 level of the SD UNet): {@link
 * AttentionKernel#forward} against the unfused baseline per head: OpenBLAS {@code S = Q K^T}, a vectorised Java
 * softmax over the rows of S (both threads), then OpenBLAS {@code O = P V}.
 *
 * <p>One operation takes long enough that fewer, longer iterations than the other benchmarks suffice.
 */
@Warmup(iterations = 2, time = 1)
@Measurement(iterations = 3, time = 2)
public class AttentionBenchmark extends KernelBenchmark {
    static final int HEADS = 8;
    static final int TOKENS = 4096;
    static final int DIM = 40;
    /** The two products per head; softmax is not counted. */
    static final double FLOPS = 2.0 * 2.0 * HEADS * TOKENS * TOKENS * DIM;

    private static final VectorSpecies<Float> S = FloatVector.SPECIES_PREFERRED;
    private static final float SCALE = (float) (1 / Math.sqrt(DIM));

    private float[] q;
    private float[] k;
    private float[] v;
    float[] out;
    private float[] lse;
    private FloatPointer pq;
    private FloatPointer pk;
    private FloatPointer pv;
    private FloatPointer pScores;
    FloatPointer pOut;
    private MemorySegment scores;

    @Setup
    public void setup() {
        int size = HEADS * TOKENS * DIM;
        q = randomArray(size, 5);
        k = randomArray(size, 6);
        v = randomArray(size, 7);
        out = new float[size];
        lse = new float[HEADS * TOKENS];
        OpenBlas.init();
        pq = OpenBlas.copyOf(q);
        pk = OpenBlas.copyOf(k);
        pv = OpenBlas.copyOf(v);
        pOut = OpenBlas.allocate(size);
        pScores = OpenBlas.allocate((long) TOKENS * TOKENS);
        scores = OpenBlas.view(pScores);
    }

    @TearDown
    public void tearDown() {
        for (FloatPointer p : new FloatPointer[] {pq, pk, pv, pScores, pOut}) {
            p.close();
        }
    }

    @Benchmark
    public void texforce() {
        AttentionKernel.forward(q, k, v, HEADS, TOKENS, TOKENS, DIM, DIM, SCALE, false, out, lse);
    }

    @Benchmark
    public void openblasUnfused() {
        long head = (long) TOKENS * DIM;
        for (int h = 0; h < HEADS; h++) {
            OpenBlas.sgemm(true, TOKENS, TOKENS, DIM, slice(pq, h * head), slice(pk, h * head), pScores);
            Parallel.forRange(TOKENS, 64, (from, to) -> {
                for (int row = from; row < to; row++) {
                    softmaxRow((long) row * TOKENS * Float.BYTES);
                }
            });
            OpenBlas.sgemm(false, TOKENS, DIM, TOKENS, pScores, slice(pv, h * head), slice(pOut, h * head));
        }
    }

    private static FloatPointer slice(FloatPointer p, long offset) {
        return new FloatPointer(p).position(offset);
    }

    /** In place: row <- softmax(SCALE * row), the usual max-subtracted form. */
    private void softmaxRow(long at) {
        var order = ByteOrder.nativeOrder();
        int step = S.length(), bytes = step * Float.BYTES;
        long end = at + (long) TOKENS * Float.BYTES;
        var max = FloatVector.broadcast(S, Float.NEGATIVE_INFINITY);
        for (long o = at; o < end; o += bytes) {
            max = max.max(FloatVector.fromMemorySegment(S, scores, o, order));
        }
        float m = max.reduceLanes(VectorOperators.MAX) * SCALE;
        var sum = FloatVector.zero(S);
        for (long o = at; o < end; o += bytes) {
            var e = FloatVector.fromMemorySegment(S, scores, o, order).mul(SCALE).sub(m).lanewise(VectorOperators.EXP);
            e.intoMemorySegment(scores, o, order);
            sum = sum.add(e);
        }
        float inv = 1f / sum.reduceLanes(VectorOperators.ADD);
        for (long o = at; o < end; o += bytes) {
            FloatVector.fromMemorySegment(S, scores, o, order).mul(inv).intoMemorySegment(scores, o, order);
        }
    }
}
