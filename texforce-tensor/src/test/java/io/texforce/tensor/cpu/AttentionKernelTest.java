package io.texforce.tensor.cpu;

import static io.texforce.tensor.cpu.KernelChecks.assertClose;
import static io.texforce.tensor.cpu.KernelChecks.assertGradient;
import static io.texforce.tensor.cpu.KernelChecks.dot;
import static io.texforce.tensor.cpu.KernelChecks.random;

import java.util.Arrays;
import java.util.function.ToDoubleFunction;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.CsvSource;

class AttentionKernelTest {
    private static final double TOL = 5e-6;

    @ParameterizedTest(name = "bh={0} nq={1} nk={2} d={3} dv={4} causal={5}")
    @CsvSource({
            "2, 5, 7, 3, 5, false",
            "2, 5, 7, 3, 5, true",
            "3, 70, 77, 40, 40, false",
            "2, 77, 77, 64, 64, true",
            "1, 130, 65, 17, 9, true",
            "1, 33, 150, 8, 12, true",
            "1, 33, 150, 8, 12, false",
            "4, 129, 129, 40, 40, false",
            "1, 200, 200, 64, 64, true",
            "1, 1, 1, 1, 1, false",
            "1, 64, 64, 16, 16, true",
            "5, 3, 1, 2, 3, true",
    })
    void matchesReference(int bh, int nq, int nk, int d, int dv, boolean causal) {
        String tag = "attention bh=%d nq=%d nk=%d d=%d dv=%d causal=%b".formatted(bh, nq, nk, d, dv, causal);
        // Queries scaled up so that the softmax is peaked and the online maximum changes between key blocks.
        float[] q = random(1, bh * nq * d, 3f, 0f);
        float[] k = random(2, bh * nk * d);
        float[] v = random(3, bh * nk * dv);
        float[] gOut = random(4, bh * nq * dv);
        float scale = (float) (1 / Math.sqrt(d));

        float[] outRef = new float[bh * nq * dv], lseRef = new float[bh * nq];
        float[] out = new float[outRef.length], lse = new float[lseRef.length];
        NaiveKernels.attentionForward(q, k, v, bh, nq, nk, d, dv, scale, causal, outRef, lseRef);
        AttentionKernel.forward(q, k, v, bh, nq, nk, d, dv, scale, causal, out, lse);
        assertClose(tag + " out", outRef, out, TOL);
        assertClose(tag + " lse", lseRef, lse, TOL);

        float[] gqRef = new float[q.length], gkRef = new float[k.length], gvRef = new float[v.length];
        float[] gq = filledNaN(q.length), gk = filledNaN(k.length), gv = filledNaN(v.length);
        NaiveKernels.attentionBackward(q, k, v, outRef, gOut, lseRef, bh, nq, nk, d, dv, scale, causal,
                gqRef, gkRef, gvRef);
        AttentionKernel.backward(q, k, v, out, gOut, lse, bh, nq, nk, d, dv, scale, causal, gq, gk, gv);
        assertClose(tag + " gq", gqRef, gq, TOL);
        assertClose(tag + " gk", gkRef, gk, TOL);
        assertClose(tag + " gv", gvRef, gv, TOL);
    }

    @Test
    void gradientsMatchFiniteDifferences() {
        int bh = 2, nq = 4, nk = 5, d = 3, dv = 2;
        boolean causal = true;
        float scale = 0.7f;
        float[] q = random(21, bh * nq * d), k = random(22, bh * nk * d), v = random(23, bh * nk * dv);
        float[] gOut = random(24, bh * nq * dv);
        float[] out = new float[bh * nq * dv], lse = new float[bh * nq];
        AttentionKernel.forward(q, k, v, bh, nq, nk, d, dv, scale, causal, out, lse);
        float[] gq = new float[q.length], gk = new float[k.length], gv = new float[v.length];
        AttentionKernel.backward(q, k, v, out, gOut, lse, bh, nq, nk, d, dv, scale, causal, gq, gk, gv);
        float[] gqRef = new float[q.length], gkRef = new float[k.length], gvRef = new float[v.length];
        NaiveKernels.attentionBackward(q, k, v, out, gOut, lse, bh, nq, nk, d, dv, scale, causal,
                gqRef, gkRef, gvRef);

        float[] o = new float[out.length], l = new float[lse.length];
        ToDoubleFunction<float[]> lossOfQ = qs -> {
            NaiveKernels.attentionForward(qs, k, v, bh, nq, nk, d, dv, scale, causal, o, l);
            return dot(o, gOut);
        };
        ToDoubleFunction<float[]> lossOfK = ks -> {
            NaiveKernels.attentionForward(q, ks, v, bh, nq, nk, d, dv, scale, causal, o, l);
            return dot(o, gOut);
        };
        ToDoubleFunction<float[]> lossOfV = vs -> {
            NaiveKernels.attentionForward(q, k, vs, bh, nq, nk, d, dv, scale, causal, o, l);
            return dot(o, gOut);
        };
        assertGradient("attention reference gq", q, gqRef, lossOfQ, 1e-2f, 2e-3);
        assertGradient("attention fast gq", q, gq, lossOfQ, 1e-2f, 2e-3);
        assertGradient("attention reference gk", k, gkRef, lossOfK, 1e-2f, 2e-3);
        assertGradient("attention fast gk", k, gk, lossOfK, 1e-2f, 2e-3);
        assertGradient("attention reference gv", v, gvRef, lossOfV, 1e-2f, 2e-3);
        assertGradient("attention fast gv", v, gv, lossOfV, 1e-2f, 2e-3);
    }

    private static float[] filledNaN(int n) {
        float[] a = new float[n];
        Arrays.fill(a, Float.NaN);
        return a;
    }
}
