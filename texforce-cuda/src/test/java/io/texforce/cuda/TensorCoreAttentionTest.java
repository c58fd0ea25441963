package io.texforce.cuda;

import static io.texforce.tensor.WeightDtype.BF16;
import static io.texforce.tensor.WeightDtype.FP16;
import static io.texforce.tensor.WeightDtype.FP32;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertTrue;

import io.texforce.cuda.ParityChecks.AttentionShape;
import io.texforce.tensor.Tensor;
import io.texforce.tensor.WeightDtype;
import io.texforce.tensor.cpu.CpuBackend;
import org.junit.jupiter.api.Test;

/**
 * The GPU-free side of the tensor-core attention: its launch geometry and selection rule, and an emulation of its
 * arithmetic on the CPU that measures the error the parity checks should see on a GPU, against their tolerances.
 */
class TensorCoreAttentionTest {
    /** Per-block opt-in shared memory of an A100 (sm_80) and an H100 (sm_90). */
    private static final int A100 = 166_912, H100 = 232_448;

    @Test
    void headDimsArePaddedToWholeFragments() {
        assertEquals(16, TensorCoreAttention.padded(7));
        assertEquals(48, TensorCoreAttention.padded(40));
        assertEquals(64, TensorCoreAttention.padded(64));
        assertEquals(80, TensorCoreAttention.padded(80));
        assertEquals(128, TensorCoreAttention.padded(128));
    }

    @Test
    void sharedMemoryMatchesTheKernelsStaticAsserts() {
        // native/attention_tc.cu static_asserts these two sizes of attention_tc_smem_bytes.
        assertEquals(62_208, TensorCoreAttention.sharedBytes(40, 40));
        assertEquals(113_408, TensorCoreAttention.sharedBytes(128, 128));
        // d = 7 pads like 16; v's padding is its own.
        assertEquals(TensorCoreAttention.sharedBytes(16, 16), TensorCoreAttention.sharedBytes(7, 9));
        assertTrue(TensorCoreAttention.sharedBytes(64, 80) > TensorCoreAttention.sharedBytes(64, 64));
        for (int d : new int[]{40, 64, 80, 128}) {
            int bytes = TensorCoreAttention.sharedBytes(d, d);
            System.out.printf("tensor-core attention d=%d: %d bytes of shared memory per block, %d blocks per SM on"
                    + " an H100%n", d, bytes, 228 * 1024 / (bytes + 1024));
            assertEquals(0, bytes % 128, "every region starts 128-byte aligned");
        }
    }

    @Test
    void backwardSharedMemoryMatchesTheKernelsStaticAsserts() {
        // native/attention_tc.cu static_asserts these two sizes of attention_tc_backward_smem_bytes.
        assertEquals(75_008, TensorCoreAttention.backwardSharedBytes(40, 40));
        assertEquals(146_688, TensorCoreAttention.backwardSharedBytes(128, 128));
        assertEquals(TensorCoreAttention.backwardSharedBytes(16, 16), TensorCoreAttention.backwardSharedBytes(7, 9));
        assertTrue(TensorCoreAttention.backwardSharedBytes(64, 80) > TensorCoreAttention.backwardSharedBytes(64, 64));
        for (int d : new int[]{40, 64, 80, 128}) {
            int bytes = TensorCoreAttention.backwardSharedBytes(d, d);
            System.out.printf("tensor-core attention backward d=%d: %d bytes of shared memory per block, %d blocks"
                    + " per SM on an H100%n", d, bytes, 228 * 1024 / (bytes + 1024));
            assertEquals(0, bytes % 128, "every region starts 128-byte aligned");
            assertTrue(bytes > TensorCoreAttention.sharedBytes(d, d), "the backward holds more tiles");
        }
        assertEquals(1, TensorCoreAttention.backwardBlocks(64));
        assertEquals(2, TensorCoreAttention.backwardBlocks(77));
        assertEquals(0, TensorCoreAttention.backwardBlocks(0));
    }

    @Test
    void theBackwardRunsOnTensorCoresWhereverItsSharedMemoryFits() {
        for (int sharedOptIn : new int[]{A100, H100}) {
            int cc = sharedOptIn == A100 ? 80 : 90;
            for (int d : new int[]{7, 40, 64, 80, 128}) {
                assertTrue(TensorCoreAttention.backwardApplies(BF16, d, d, cc, sharedOptIn), "bf16 d=" + d);
                assertTrue(TensorCoreAttention.backwardApplies(FP16, d, d, cc, sharedOptIn), "fp16 d=" + d);
                assertFalse(TensorCoreAttention.backwardApplies(FP32, d, d, cc, sharedOptIn), "fp32 d=" + d);
            }
            assertFalse(TensorCoreAttention.backwardApplies(BF16, 160, 160, cc, sharedOptIn), "SD's d=160");
        }
        // 120 000 bytes take the d = 128 forward (113 408) but not its backward (146 688): the float32 backward
        // then rounds as the forward did.
        assertTrue(TensorCoreAttention.applies(BF16, 128, 128, 90, 120_000));
        assertFalse(TensorCoreAttention.backwardApplies(BF16, 128, 128, 90, 120_000));
        assertEquals(TensorCoreAttention.ROUND_BF16, TensorCoreAttention.backwardRounding(BF16, 128, 128, 90, 120_000));
        assertEquals("attention_backward_tc_bf16", TensorCoreAttention.backwardKernel(BF16));
        assertEquals("attention_backward_tc_fp16", TensorCoreAttention.backwardKernel(FP16));
    }

    @Test
    void gridCoversEveryQueryRow() {
        assertEquals(1, TensorCoreAttention.blocks(1));
        assertEquals(1, TensorCoreAttention.blocks(64));
        assertEquals(2, TensorCoreAttention.blocks(77));
        assertEquals(64, TensorCoreAttention.blocks(4096));
        assertEquals(0, TensorCoreAttention.blocks(0));
    }

    @Test
    void sixteenBitModelsUseTensorCoresUpToHeadDim128() {
        for (int sharedOptIn : new int[]{A100, H100}) {
            int cc = sharedOptIn == A100 ? 80 : 90;
            for (int d : new int[]{7, 40, 64, 80, 128}) {
                assertTrue(TensorCoreAttention.applies(WeightDtype.BF16, d, d, cc, sharedOptIn), "bf16 d=" + d);
                assertTrue(TensorCoreAttention.applies(WeightDtype.FP16, d, d, cc, sharedOptIn), "fp16 d=" + d);
                assertFalse(TensorCoreAttention.applies(WeightDtype.FP32, d, d, cc, sharedOptIn), "fp32 d=" + d);
            }
            assertFalse(TensorCoreAttention.applies(WeightDtype.BF16, 160, 160, cc, sharedOptIn), "SD's d=160");
            assertFalse(TensorCoreAttention.applies(WeightDtype.BF16, 64, 160, cc, sharedOptIn), "dv=160");
        }
        assertFalse(TensorCoreAttention.applies(WeightDtype.BF16, 128, 128, 90, 100_000), "a device with less memory");
        // A T4 (sm_75, 64 KiB per block): fp16 has tensor cores, bf16 none.
        assertTrue(TensorCoreAttention.applies(WeightDtype.FP16, 40, 40, 75, 65_536), "fp16 on sm_75");
        assertFalse(TensorCoreAttention.applies(WeightDtype.BF16, 40, 40, 75, 65_536), "bf16 on sm_75");
        assertEquals("attention_forward_tc_bf16", TensorCoreAttention.kernel(WeightDtype.BF16));
        assertEquals("attention_forward_tc_fp16", TensorCoreAttention.kernel(WeightDtype.FP16));
    }

    @Test
    void theBackwardRoundsExactlyWhenTheForwardRanOnTensorCores() {
        assertEquals(TensorCoreAttention.ROUND_BF16, TensorCoreAttention.backwardRounding(BF16, 40, 40, 90, H100));
        assertEquals(TensorCoreAttention.ROUND_FP16, TensorCoreAttention.backwardRounding(FP16, 80, 80, 90, H100));
        assertEquals(TensorCoreAttention.ROUND_NONE, TensorCoreAttention.backwardRounding(FP32, 40, 40, 90, H100));
        // SD's d = 160 ran forward on the float32 kernel, unrounded.
        assertEquals(TensorCoreAttention.ROUND_NONE, TensorCoreAttention.backwardRounding(BF16, 160, 160, 90, H100));
    }

    /**
     * Each parity shape through an emulation of the kernels' arithmetic: the forward (inputs rounded, float32 scores
     * and online softmax over 64-key tiles, P rounded before P V, row sums of the unrounded P) and the backward fed
     * with the emulated out and lse (gOut rounded, float32 P and dS, each rounded before the products it enters);
     * both against the CPU's exact attention on the rounded inputs, as the parity checks compare. The emulation
     * leaves out only the float32 summation order of the tensor cores, which every attention check's 1e-4 slack
     * covers.
     */
    @Test
    void emulatedErrorsStayWithinTheParityTolerances() {
        for (WeightDtype dtype : new WeightDtype[]{WeightDtype.BF16, WeightDtype.FP16}) {
            double worstForward = 0, worstBackward = 0;
            for (AttentionShape s : ParityChecks.HALF_ATTENTION) {
                if (!ParityChecks.onTensorCores(s)) {
                    continue;
                }
                String n = "attention " + dtype.cliName() + " " + s.label();
                float scale = (float) (1 / Math.sqrt(s.d()));
                float[] q = rounded(ParityChecks.data(n, 0, s.bh() * s.nq() * s.d(), -2f, 2f), dtype);
                float[] k = rounded(ParityChecks.data(n, 1, s.bh() * s.nk() * s.d(), -2f, 2f), dtype);
                float[] v = rounded(ParityChecks.data(n, 2, s.bh() * s.nk() * s.dv(), -2f, 2f), dtype);
                float[] g = rounded(ParityChecks.data(n, 3, s.bh() * s.nq() * s.dv(), -2f, 2f), dtype);
                Tensor tq = Tensor.of(q, s.bh(), s.nq(), s.d()), tk = Tensor.of(k, s.bh(), s.nk(), s.d());
                Tensor tv = Tensor.of(v, s.bh(), s.nk(), s.dv()), tg = Tensor.of(g, s.bh(), s.nq(), s.dv());
                var cpu = CpuBackend.INSTANCE;
                Tensor[] exact = cpu.attention(tq, tk, tv, scale, s.causal());
                Tensor[] emulated = emulate(q, k, v, s, scale, dtype);
                double forward = ParityCheck.maxError(n, exact, emulated);
                double backward = ParityCheck.maxError(n, cpu.attentionBackward(tg, tq, tk, tv, exact[0], exact[1],
                        scale, s.causal()), emulateBackward(q, k, v, g, emulated, s, scale, dtype));
                System.out.printf("%-40s emulated max error: forward %.2e, backward %.2e%n", n, forward, backward);
                worstForward = Math.max(worstForward, forward);
                worstBackward = Math.max(worstBackward, backward);
            }
            double tf = ParityChecks.halfAttentionTolerance(dtype, false);
            double tb = ParityChecks.halfAttentionTolerance(dtype, true);
            System.out.printf("%s worst: forward %.2e (tolerance %.1e), backward %.2e (tolerance %.1e)%n",
                    dtype.cliName(), worstForward, tf, worstBackward, tb);
            assertTrue(worstForward > 0, "the emulation rounds P");
            assertTrue(worstForward <= tf, dtype.cliName() + " forward " + worstForward + " > " + tf);
            assertTrue(worstBackward <= tb, dtype.cliName() + " backward " + worstBackward + " > " + tb);
        }
    }

    private static float[] rounded(float[] x, WeightDtype dtype) {
        for (int i = 0; i < x.length; i++) {
            x[i] = dtype.round(x[i]);
        }
        return x;
    }

    /**
     * gq, gk, gv as attention_backward_tc computes them from the forward's out and lse ({@code forward}) and the
     * rounded gradient g, up to the order of its float32 sums.
     */
    private static Tensor[] emulateBackward(float[] q, float[] k, float[] v, float[] g, Tensor[] forward,
                                            AttentionShape s, float scale, WeightDtype dtype) {
        int nq = s.nq(), nk = s.nk(), d = s.d(), dv = s.dv();
        float[] out = forward[0].toFloatArray(), lse = forward[1].toFloatArray();
        float[] gq = new float[s.bh() * nq * d], gk = new float[s.bh() * nk * d], gv = new float[s.bh() * nk * dv];
        for (int h = 0; h < s.bh(); h++) {
            for (int i = 0; i < nq; i++) {
                int row = h * nq + i;
                if (lse[row] == Float.NEGATIVE_INFINITY) {
                    continue;
                }
                float delta = 0;
                for (int e = 0; e < dv; e++) {
                    delta += g[row * dv + e] * out[row * dv + e];
                }
                int keyEnd = s.causal() ? Math.min(nk, i + 1) : nk;
                for (int j = 0; j < keyEnd; j++) {
                    int key = h * nk + j;
                    float score = 0, dp = 0;
                    for (int t = 0; t < d; t++) {
                        score += q[row * d + t] * k[key * d + t];
                    }
                    for (int e = 0; e < dv; e++) {
                        dp += g[row * dv + e] * v[key * dv + e];
                    }
                    float p = (float) Math.exp(score * scale - lse[row]);
                    float pr = dtype.round(p), dsr = dtype.round(p * (dp - delta) * scale);
                    for (int e = 0; e < dv; e++) {
                        gv[key * dv + e] += pr * g[row * dv + e];
                    }
                    for (int t = 0; t < d; t++) {
                        gk[key * d + t] += dsr * q[row * d + t];
                        gq[row * d + t] += dsr * k[key * d + t];
                    }
                }
            }
        }
        return new Tensor[]{Tensor.of(gq, s.bh(), nq, d), Tensor.of(gk, s.bh(), nk, d), Tensor.of(gv, s.bh(), nk, dv)};
    }

    /** out and lse as attention_forward_tc computes them, up to the order of its float32 sums. */
    private static Tensor[] emulate(float[] q, float[] k, float[] v, AttentionShape s, float scale,
                                    WeightDtype dtype) {
        int nq = s.nq(), nk = s.nk(), d = s.d(), dv = s.dv();
        float[] out = new float[s.bh() * nq * dv], lse = new float[s.bh() * nq];
        float[] scores = new float[TensorCoreAttention.KEYS];
        for (int h = 0; h < s.bh(); h++) {
            for (int i = 0; i < nq; i++) {
                float max = Float.NEGATIVE_INFINITY, sum = 0;
                float[] o = new float[dv];
                int keyEnd = s.causal() ? Math.min(nk, i + 1) : nk;
                for (int j0 = 0; j0 < keyEnd; j0 += TensorCoreAttention.KEYS) {
                    int kn = Math.min(TensorCoreAttention.KEYS, keyEnd - j0);
                    float top = Float.NEGATIVE_INFINITY;
                    for (int c = 0; c < kn; c++) {
                        float dot = 0;
                        for (int t = 0; t < d; t++) {
                            dot += q[(h * nq + i) * d + t] * k[(h * nk + j0 + c) * d + t];
                        }
                        scores[c] = dot * scale;
                        top = Math.max(top, scores[c]);
                    }
                    float mx = Math.max(max, top);
                    float corr = max == Float.NEGATIVE_INFINITY ? 0 : (float) Math.exp(max - mx);
                    for (int e = 0; e < dv; e++) {
                        o[e] *= corr;
                    }
                    sum *= corr;
                    for (int c = 0; c < kn; c++) {
                        float p = (float) Math.exp(scores[c] - mx);
                        sum += p;
                        float pr = dtype.round(p);
                        for (int e = 0; e < dv; e++) {
                            o[e] += pr * v[(h * nk + j0 + c) * dv + e];
                        }
                    }
                    max = mx;
                }
                for (int e = 0; e < dv; e++) {
                    out[(h * nq + i) * dv + e] = sum == 0 ? 0 : o[e] / sum;
                }
                lse[h * nq + i] = sum == 0 ? Float.NEGATIVE_INFINITY : max + (float) Math.log(sum);
            }
        }
        return new Tensor[]{Tensor.of(out, s.bh(), nq, dv), Tensor.of(lse, s.bh(), nq)};
    }
}
