package io.texforce.cuda;

import io.texforce.tensor.Backend;
import io.texforce.tensor.BinaryOp;
import io.texforce.tensor.ReduceOp;
import io.texforce.tensor.Tensor;
import io.texforce.tensor.UnaryOp;
import io.texforce.tensor.WeightDtype;
import io.texforce.tensor.cpu.CpuBackend;

import java.util.ArrayList;
import java.util.List;
import java.util.Random;
import java.util.function.Function;

/**
 * Every kernel of {@link CudaBackend} against {@link CpuBackend} on seeded random inputs, forward and backward,
 * at the shapes the U-Net and CLIP use and at awkward ones (odd sizes, broadcasts, strided views), and the same
 * with bf16 and fp16 frozen weights (every such check names its format). Shared by the JUnit tests and
 * {@link GpuSelfTest}.
 */
final class ParityChecks {
    /** Float32 kernels whose summation order differs from the CPU's. */
    static final double FP32 = 1e-5;
    /** Long dot products (GEMM, attention, convolution) accumulate more rounding. */
    static final double ACCUMULATED = 1e-4;
    /**
     * GEMMs on 16-bit inputs against the CPU's float32 GEMM of the very same 16-bit values (the activation rounded on
     * both sides, see {@link #activation}). Products of two 16-bit values are exact in float32, so only the sums
     * differ: tensor cores add their float32 partial sums with truncation rather than rounding (Fasi et al., "Numerical
     * behavior of NVIDIA tensor cores", 2021), one ulp of the running sum per k-step at worst, which for K = 768 can
     * reach ~2e-4 of the partial sums' size. Without rounding the activation on the CPU side, bf16's rounding of
     * each activation element (up to 2^-8 of it) would need a tolerance near 0.3 at K = 768.
     */
    static final double HALF_GEMM = 5e-4;

    private ParityChecks() {
    }

    /** Host data for an input, seeded by the check's name and the input's index, so both sides see the same. */
    static float[] data(String seed, int index, int n, float lo, float hi) {
        Random r = new Random(seed.hashCode() * 31L + index);
        float[] d = new float[n];
        for (int i = 0; i < n; i++) {
            d[i] = lo + (hi - lo) * r.nextFloat();
        }
        return d;
    }

    /** A tensor on {@code b} with uniform values in [lo, hi). */
    static Tensor input(Backend b, String seed, int index, float lo, float hi, int... shape) {
        return Tensor.of(b, data(seed, index, io.texforce.tensor.Shape.numel(shape), lo, hi), shape);
    }

    static Tensor input(Backend b, String seed, int index, int... shape) {
        return input(b, seed, index, -2f, 2f, shape);
    }

    private static ParityCheck check(String name, double tolerance, Function<Backend, Tensor[]> op) {
        return new ParityCheck(name, tolerance, op);
    }

    static List<ParityCheck> all() {
        List<ParityCheck> c = new ArrayList<>();
        c.add(check("copy strided (permute)", 0, b -> new Tensor[]{
                input(b, "copy", 0, 3, 5, 7, 2).permute(2, 0, 3, 1).contiguous()}));
        c.add(check("full", 0, b -> new Tensor[]{b.full(new int[]{5, 7}, 1.25f)}));
        c.add(check("random normal (Philox)", 1e-6, b -> new Tensor[]{b.random(new int[]{1001}, 0x1234_5678_9abcL, 3, false)}));
        c.add(check("random uniform (Philox)", 0, b -> new Tensor[]{b.random(new int[]{999}, 42, 5, true)}));
        for (UnaryOp op : UnaryOp.values()) {
            boolean positive = switch (op) {
                case LOG, SQRT, RSQRT, POW, RECIPROCAL -> true;
                default -> false;
            };
            float lo = positive ? 0.5f : -4f, hi = positive ? 3f : 4f;
            float p = op == UnaryOp.POW ? 1.7f : 0.75f;
            String n = "unary " + op;
            c.add(check(n, FP32, b -> new Tensor[]{b.unary(op, input(b, n, 0, lo, hi, 33, 65), p)}));
            c.add(check(n + " backward", FP32, b -> new Tensor[]{
                    b.unaryBackward(op, input(b, n, 1, 33, 65), input(b, n, 0, lo, hi, 33, 65), p)}));
        }
        for (BinaryOp op : BinaryOp.values()) {
            String n = "binary " + op + " broadcast";
            float lo = op == BinaryOp.POW ? 0.5f : -2f;
            c.add(check(n, FP32, b -> new Tensor[]{
                    b.binary(op, input(b, n, 0, lo, 2f, 4, 1, 33), input(b, n, 1, -2f, 2f, 5, 33))}));
        }
        c.add(check("binary ADD strided", FP32, b -> new Tensor[]{b.binary(BinaryOp.ADD,
                input(b, "bs", 0, 6, 9).transpose(0, 1), input(b, "bs", 1, 9, 1))}));
        c.add(check("where", 0, b -> new Tensor[]{b.where(b.binary(BinaryOp.GT, input(b, "w", 0, 3, 1, 8),
                b.full(new int[]{1}, 0f)), input(b, "w", 1, 4, 8), input(b, "w", 2, 3, 4, 1))}));
        c.add(check("clamp", 0, b -> new Tensor[]{b.clamp(input(b, "clamp", 0, 100), -0.5f, 0.7f)}));
        for (ReduceOp op : ReduceOp.values()) {
            c.add(check("reduce " + op + " trailing", FP32, b -> new Tensor[]{
                    b.reduce(op, input(b, "r" + op, 0, 3, 4, 300), new int[]{2}, false)}));
            c.add(check("reduce " + op + " middle keepDim", FP32, b -> new Tensor[]{
                    b.reduce(op, input(b, "r" + op, 1, 3, 70, 5), new int[]{1}, true)}));
            c.add(check("reduce " + op + " leading", FP32, b -> new Tensor[]{
                    b.reduce(op, input(b, "r" + op, 2, 2, 50, 33), new int[]{0, 1}, false)}));
            c.add(check("reduce " + op + " all", FP32, b -> new Tensor[]{
                    b.reduce(op, input(b, "r" + op, 3, 17, 1000), new int[]{0, 1}, false)}));
        }
        c.add(check("matmul [77,768] x [768,320]^T", ACCUMULATED, b -> new Tensor[]{
                b.matmul(input(b, "mm", 0, 2, 77, 768), input(b, "mm", 1, 320, 768), false, true)}));
        c.add(check("matmul batched transA", ACCUMULATED, b -> new Tensor[]{
                b.matmul(input(b, "mmb", 0, 3, 40, 17), input(b, "mmb", 1, 3, 40, 23), true, false)}));
        c.add(check("matmul broadcast batch", ACCUMULATED, b -> new Tensor[]{
                b.matmul(input(b, "mmc", 0, 1, 19, 31), input(b, "mmc", 1, 4, 31, 9), false, false)}));
        c.add(check("concat", 0, b -> new Tensor[]{b.concat(List.of(input(b, "cat", 0, 2, 3, 5),
                input(b, "cat", 1, 2, 4, 5).detach(), input(b, "cat", 2, 2, 1, 5)), 1)}));
        int[] ids = {3, 0, 7, 3, 9, 3, 1};
        c.add(check("embedding", 0, b -> new Tensor[]{b.embedding(input(b, "emb", 0, 10, 33), ids)}));
        c.add(check("embedding backward (repeated ids)", FP32, b -> new Tensor[]{
                b.embeddingBackward(input(b, "emb", 1, 7, 33), ids, 10)}));
        c.add(check("conv2d 3x3 pad 1 + bias", ACCUMULATED, b -> new Tensor[]{b.conv2d(input(b, "conv", 0, 2, 8, 13, 11),
                input(b, "conv", 1, 16, 8, 3, 3), input(b, "conv", 2, 16), 1, 1)}));
        c.add(check("conv2d 3x3 stride 2", ACCUMULATED, b -> new Tensor[]{b.conv2d(input(b, "conv2", 0, 2, 5, 12, 9),
                input(b, "conv2", 1, 7, 5, 3, 3), null, 2, 1)}));
        String tf32 = "matmul fp32 on TF32 [154,768] x [320,768]^T";
        c.add(check(tf32, ACCUMULATED, b -> onTf32(b, input(b, tf32, 0, 154, 768),
                input(b, tf32, 1, -0.1f, 0.1f, 320, 768), false, true)));
        String tf32Batched = "matmul fp32 on TF32 batched [3,40,96] x [3,96,50]";
        c.add(check(tf32Batched, ACCUMULATED, b -> onTf32(b, input(b, tf32Batched, 0, 3, 40, 96),
                input(b, tf32Batched, 1, 3, 96, 50), false, false)));
        c.add(check("conv2d implicit 3x3 pad 1 + bias", ACCUMULATED, b -> implicitConv(b, () -> new Tensor[]{
                b.conv2d(input(b, "iconv", 0, 2, 8, 13, 11), input(b, "iconv", 1, 16, 8, 3, 3),
                        input(b, "iconv", 2, 16), 1, 1)})));
        c.add(check("conv2d implicit 3x3 stride 2", ACCUMULATED, b -> implicitConv(b, () -> new Tensor[]{
                b.conv2d(input(b, "iconv2", 0, 2, 5, 12, 9), input(b, "iconv2", 1, 7, 5, 3, 3), null, 2, 1)})));
        c.add(check("conv2d implicit 3x3 70->130 20x20 (tiles of K, M and N)", ACCUMULATED,
                b -> implicitConv(b, () -> new Tensor[]{b.conv2d(input(b, "iconv3", 0, 1, 70, 20, 20),
                        input(b, "iconv3", 1, -0.1f, 0.1f, 130, 70, 3, 3), input(b, "iconv3", 2, 130), 1, 1)})));
        c.add(check("conv2d implicit 1x1 33->65 + bias", ACCUMULATED, b -> implicitConv(b, () -> new Tensor[]{
                b.conv2d(input(b, "iconv4", 0, 3, 33, 9, 7), input(b, "iconv4", 1, 65, 33, 1, 1),
                        input(b, "iconv4", 2, 65), 1, 0)})));
        c.add(check("conv2d backward input stride 2", ACCUMULATED, b -> new Tensor[]{b.conv2dBackwardInput(
                input(b, "cbi", 0, 2, 7, 6, 5), input(b, "cbi", 1, 7, 5, 3, 3), new int[]{2, 5, 12, 9}, 2, 1)}));
        c.add(check("conv2d backward weight + bias", ACCUMULATED, b -> b.conv2dBackwardWeight(
                input(b, "cbw", 0, 2, 16, 13, 11), input(b, "cbw", 1, 2, 8, 13, 11), new int[]{16, 8, 3, 3}, 1, 1,
                true)));
        c.add(check("group norm affine", FP32, b -> b.groupNorm(input(b, "gn", 0, 2, 64, 9, 7), 32,
                input(b, "gn", 1, 64), input(b, "gn", 2, 64), 1e-5f)));
        c.add(check("group norm plain", FP32, b -> b.groupNorm(input(b, "gn", 0, 3, 12, 50), 4, null, null, 1e-6f)));
        c.add(check("group norm backward", ACCUMULATED, b -> {
            Tensor x = input(b, "gnb", 0, 2, 64, 9, 7), gamma = input(b, "gnb", 1, 64), beta = input(b, "gnb", 2, 64);
            Tensor[] f = b.groupNorm(x, 32, gamma, beta, 1e-5f);
            return b.groupNormBackward(input(b, "gnb", 3, 2, 64, 9, 7), x, f[1], f[2], gamma, true, 32);
        }));
        c.add(check("group norm + SiLU fused", FP32, b -> {
            Tensor x = input(b, "gns", 0, 2, 32, 10, 10), gamma = input(b, "gns", 1, 32), beta = input(b, "gns", 2, 32);
            if (b instanceof CudaBackend g) {
                return new Tensor[]{g.groupNormSilu(x, 8, gamma, beta, 1e-5f)[0]};
            }
            return new Tensor[]{b.unary(UnaryOp.SILU, b.groupNorm(x, 8, gamma, beta, 1e-5f)[0], 0f)};
        }));
        c.add(check("group norm + SiLU fused backward", ACCUMULATED, b -> {
            Tensor x = input(b, "gns", 0, 2, 32, 10, 10), gamma = input(b, "gns", 1, 32), beta = input(b, "gns", 2, 32);
            Tensor gy = input(b, "gns", 3, 2, 32, 10, 10);
            Tensor[] f = b.groupNorm(x, 8, gamma, beta, 1e-5f);
            if (b instanceof CudaBackend g) {
                return g.groupNormSiluBackward(gy, x, f[1], f[2], gamma, beta, 8);
            }
            Tensor gh = b.unaryBackward(UnaryOp.SILU, gy, f[0], 0f);
            return b.groupNormBackward(gh, x, f[1], f[2], gamma, true, 8);
        }));
        c.add(check("layer norm", FP32, b -> b.layerNorm(input(b, "ln", 0, 2, 77, 768), input(b, "ln", 1, 768),
                input(b, "ln", 2, 768), 1e-5f)));
        c.add(check("layer norm backward", ACCUMULATED, b -> {
            Tensor x = input(b, "lnb", 0, 3, 50, 65), gamma = input(b, "lnb", 1, 65);
            Tensor[] f = b.layerNorm(x, gamma, input(b, "lnb", 2, 65), 1e-5f);
            return b.layerNormBackward(input(b, "lnb", 3, 3, 50, 65), x, f[1], f[2], gamma, true);
        }));
        c.add(check("softmax", FP32, b -> new Tensor[]{b.softmax(input(b, "sm", 0, -8f, 8f, 2, 8, 77, 77))}));
        c.add(check("softmax backward", FP32, b -> {
            Tensor y = b.softmax(input(b, "smb", 0, 5, 300));
            return new Tensor[]{b.softmaxBackward(input(b, "smb", 1, 5, 300), y)};
        }));
        attention(c, "self 2x77x64", 2, 77, 77, 64, 64, false);
        attention(c, "causal 2x77x64", 2, 77, 77, 64, 64, true);
        attention(c, "cross 3x100x77 d40", 3, 100, 77, 40, 40, false);
        attention(c, "self 2x300x160", 2, 300, 300, 160, 160, false);
        attention(c, "odd 1x5x130 d7 dv9", 1, 5, 130, 7, 9, false);
        c.add(check("upsample nearest x2", 0, b -> new Tensor[]{b.upsampleNearest2x(input(b, "up", 0, 2, 3, 5, 7))}));
        c.add(check("upsample nearest x2 backward", 0, b -> new Tensor[]{
                b.upsampleNearest2xBackward(input(b, "up", 1, 2, 3, 10, 14))}));
        c.add(check("GEGLU", FP32, b -> new Tensor[]{b.geglu(input(b, "geglu", 0, 2, 9, 2 * 130))}));
        c.add(check("GEGLU backward", FP32, b -> new Tensor[]{
                b.gegluBackward(input(b, "geglu", 1, 2, 9, 130), input(b, "geglu", 0, 2, 9, 2 * 130))}));
        c.add(check("addInPlace", FP32, b -> {
            Tensor d = input(b, "aip", 0, 1000);
            b.addInPlace(d, input(b, "aip", 1, 1000), -0.3f);
            return new Tensor[]{d};
        }));
        c.add(check("AdamW step 7", FP32, b -> {
            Tensor p = input(b, "adam", 0, 777), m = input(b, "adam", 1, 777),
                    v = input(b, "adam", 2, 0f, 1f, 777);
            b.adamW(p, input(b, "adam", 3, 777), m, v, 1e-3f, 0.9f, 0.999f, 1e-8f, 1e-2f, 7);
            return new Tensor[]{p, m, v};
        }));
        lora(c, "rank 4, 154x768 -> 320", 154, 768, 320, 4, WeightDtype.FP32);
        lora(c, "rank 64, odd 70x100 -> 33", 70, 100, 33, 64, WeightDtype.FP32);
        for (WeightDtype d : new WeightDtype[]{WeightDtype.BF16, WeightDtype.FP16}) {
            halfWeights(c, d);
            for (AttentionShape s : HALF_ATTENTION) {
                halfAttention(c, d, s);
            }
            HalfActivationChecks.add(c, d);
        }
        // The implicit-GEMM kernel on 16-bit activations (read in place, the result rounded into their format).
        c.addAll(onConv(c.stream().filter(k -> k.name().startsWith("activations") && k.name().contains("conv2d 3x3"))
                .toList(), ConvAlgorithm.IMPLICIT_GEMM, "implicit "));
        return c;
    }

    /** {@code checks} again with the GPU's convolutions on {@code algorithm}, their names prefixed. */
    static List<ParityCheck> onConv(List<ParityCheck> checks, ConvAlgorithm algorithm, String prefix) {
        return checks.stream().map(c -> new ParityCheck(prefix + c.name(), c.tolerance(),
                b -> withConv(b, algorithm, () -> c.op().apply(b)))).toList();
    }

    /** One attention check's shape: bh heads of q [nq, d], k [nk, d], v [nk, dv]. */
    record AttentionShape(String label, int bh, int nq, int nk, int d, int dv, boolean causal) {
    }

    /**
     * Shapes of the reduced-precision attention checks: SD's head dims 40, 64 and 80 and the kernel's largest, 128;
     * cross-attention to 77 text tokens (nq != nk); CLIP's causal 77 x 77 and a causal one of several tiles (whole
     * warps skip key tiles); dims that need zero padding; SD's d = 160, which falls back to the float32 kernel.
     */
    static final List<AttentionShape> HALF_ATTENTION = List.of(
            new AttentionShape("self 2x300x40", 2, 300, 300, 40, 40, false),
            new AttentionShape("cross 3x100x77 d40", 3, 100, 77, 40, 40, false),
            new AttentionShape("cross 2x200x77 d64", 2, 200, 77, 64, 64, false),
            new AttentionShape("self 2x150x80", 2, 150, 150, 80, 80, false),
            new AttentionShape("self 2x70x128", 2, 70, 70, 128, 128, false),
            new AttentionShape("causal 2x77x64", 2, 77, 77, 64, 64, true),
            new AttentionShape("causal 1x130x64", 1, 130, 130, 64, 64, true),
            new AttentionShape("odd 1x5x130 d7 dv9", 1, 5, 130, 7, 9, false),
            new AttentionShape("self 2x100x160 (fp32 fallback)", 2, 100, 100, 160, 160, false));

    /**
     * Whether {@code s} runs on tensor cores in a 16-bit precision (else on the exact float32 kernel), on GPUs with
     * the shared memory per block of an A100 or H100 (d = 128 needs 111 KiB; consumer GPUs' 99 KiB fall back).
     */
    static boolean onTensorCores(AttentionShape s) {
        return s.d() <= TensorCoreAttention.MAX_DIM && s.dv() <= TensorCoreAttention.MAX_DIM;
    }

    /**
     * The worst error of the tensor-core attention against the CPU's exact attention on the same rounded q, k, v.
     * The scores are then the same up to float32 summation order, and so are the softmax statistics and lse; what
     * differs is P, rounded to 16 bits (relative error at most u = 2^-8 for bf16, 2^-11 for fp16) before P V. With
     * out = sum_j round(p_j) v_j / l and l the sum of the unrounded p_j, the error of out is at most
     * u sum_j (p_j / l) |v_j| <= u max|v| = 2u for inputs in [-2, 2): 7.8e-3 (bf16) and 9.8e-4 (fp16), plus the
     * float32 slack of every attention check. Rounding errors of different p_j have different signs, so the error
     * measured is well below the bound: an emulation of the kernel's arithmetic over {@link #HALF_ATTENTION}
     * (TensorCoreAttentionTest) finds at most 1.8e-3 (bf16) and 2.5e-4 (fp16).
     *
     * <p>The backward (the tensor-core backward on the same rounded q, k, v and gOut, which the CPU gets rounded
     * too) rounds P before dV = P^T dO and dS before dK = dS^T Q and dQ = dS K: each gradient element is a sum of
     * products with one factor off by a relative u, so gv_j's error is at most u sum_i p_ij |dO_i| <= 2u sum_i p_ij,
     * and gk, gq's alike with |dS|. Column sums of P are about nq / nk on average but grow to ln(nq) for a causal
     * head's first keys (p_00 = 1, p_10 ~ 1/2, ...), about 5 at 77 tokens, so the bound is near 10u; on top comes
     * out's error through delta = sum_e gOut_e out_e. The signs of the rounding errors vary, and the emulation
     * measures at most 1.7u for bf16 (6.6e-3, the causal 77-token head) and 1.4u for fp16 (6.7e-4), so the tolerance
     * is 4u plus the float32 slack: 1.6e-2 (bf16) and 2.1e-3 (fp16).
     */
    static double halfAttentionTolerance(WeightDtype d, boolean backward) {
        double u = d == WeightDtype.BF16 ? 0x1p-8 : 0x1p-11;
        return (backward ? 4 : 2) * u + ACCUMULATED;
    }

    /**
     * q, k or v of a reduced-precision attention check: the GPU rounds it to {@code d} itself as it loads its tiles,
     * the CPU gets it rounded here ({@code d} FP32: as it is).
     */
    private static Tensor attentionInput(Backend b, String seed, int index, WeightDtype d, int... shape) {
        float[] x = data(seed, index, io.texforce.tensor.Shape.numel(shape), -2f, 2f);
        if (!(b instanceof CudaBackend)) {
            for (int i = 0; i < x.length; i++) {
                x[i] = d.round(x[i]);
            }
        }
        return Tensor.of(b, x, shape);
    }

    /** The tensor-core attention (or, for large head dims, its float32 fallback) forward and backward in d. */
    private static void halfAttention(List<ParityCheck> c, WeightDtype d, AttentionShape s) {
        String n = "attention " + d.cliName() + " " + s.label();
        float scale = (float) (1 / Math.sqrt(s.d()));
        boolean tc = onTensorCores(s);
        WeightDtype rounded = tc ? d : WeightDtype.FP32;
        Function<Backend, Tensor[]> qkv = b -> new Tensor[]{attentionInput(b, n, 0, rounded, s.bh(), s.nq(), s.d()),
                attentionInput(b, n, 1, rounded, s.bh(), s.nk(), s.d()),
                attentionInput(b, n, 2, rounded, s.bh(), s.nk(), s.dv())};
        c.add(check(n, tc ? halfAttentionTolerance(d, false) : ACCUMULATED, b -> {
            Tensor[] t = qkv.apply(b);
            return b.attention(t[0], t[1], t[2], scale, s.causal(), d);
        }));
        c.add(check(n + " backward", tc ? halfAttentionTolerance(d, true) : ACCUMULATED, b -> {
            Tensor[] t = qkv.apply(b);
            Tensor[] f = b.attention(t[0], t[1], t[2], scale, s.causal(), d);
            return b.attentionBackward(attentionInput(b, n, 3, rounded, s.bh(), s.nq(), s.dv()), t[0], t[1], t[2],
                    f[0], f[1], scale, s.causal(), d);
        }));
    }

    /**
     * A float32 product with TF32 allowed on the GPU, against the CPU's product of the same inputs rounded to TF32
     * first (10 mantissa bits, to nearest with ties away, as the tensor cores take them): products of TF32 values
     * are exact in float32, so only the summation order differs.
     */
    private static Tensor[] onTf32(Backend b, Tensor x, Tensor w, boolean transA, boolean transB) {
        if (b instanceof CudaBackend g) {
            boolean before = g.tf32();
            g.setTf32(true);
            try {
                return new Tensor[]{b.matmul(x, w, transA, transB)};
            } finally {
                g.setTf32(before);
            }
        }
        return new Tensor[]{b.matmul(toTf32(b, x), toTf32(b, w), transA, transB)};
    }

    static Tensor toTf32(Backend b, Tensor t) {
        float[] v = t.toFloatArray();
        for (int i = 0; i < v.length; i++) {
            int bits = Float.floatToRawIntBits(v[i]);
            if ((bits & 0x7F800000) != 0x7F800000) {
                v[i] = Float.intBitsToFloat((bits + 0x1000) & 0xFFFFE000);
            }
        }
        return Tensor.of(b, v, t.shape());
    }

    /** Runs {@code op} with the CUDA backend's convolutions on {@code algorithm} (the CPU has one kind). */
    static Tensor[] withConv(Backend b, ConvAlgorithm algorithm, java.util.function.Supplier<Tensor[]> op) {
        if (!(b instanceof CudaBackend g)) {
            return op.get();
        }
        ConvAlgorithm before = g.convAlgorithm();
        g.setConvAlgorithm(algorithm);
        try {
            return op.get();
        } finally {
            g.setConvAlgorithm(before);
        }
    }

    private static Tensor[] implicitConv(Backend b, java.util.function.Supplier<Tensor[]> op) {
        return withConv(b, ConvAlgorithm.IMPLICIT_GEMM, op);
    }

    /**
     * The convolution checks of {@link #all} (float32 forward and both gradients, bf16/fp16 weights, 16-bit
     * activations) with the GPU's convolutions on cuDNN, named "cudnn ...": cuDNN against the same CPU reference and
     * tolerances as our own convolutions. Where cuDNN does not take a format mix the backend runs im2col, so these
     * also check that choice.
     */
    static List<ParityCheck> cudnn() {
        return onConv(all().stream().filter(c -> c.name().contains("conv2d") && !c.name().contains("implicit"))
                .toList(), ConvAlgorithm.CUDNN, "cudnn ");
    }

    /**
     * The float32 operand of a product with a 16-bit weight: the GPU rounds it to the weight's format itself (as
     * autocast does); the CPU, which keeps activations in float32, gets it rounded here, so that both multiply the
     * same values and the tolerance can be tight.
     */
    private static Tensor activation(Backend b, Tensor x, WeightDtype d) {
        return b instanceof CudaBackend ? x : x.to(d);
    }

    /** The 16-bit weight paths: conversions exactly, GEMM/conv within {@link #HALF_GEMM}, and widened inputs. */
    private static void halfWeights(List<ParityCheck> c, WeightDtype d) {
        String f = d.cliName();
        c.add(check("round to " + f + " (ties, overflow, subnormals)", 0, b -> {
            float[] values = roundingCases();
            Tensor x = Tensor.of(b, values, values.length);
            return new Tensor[]{b instanceof CudaBackend g ? g.roundTo(x, d) : x.to(d)};
        }));
        c.add(check("widen " + f + " strided (permute)", 0, b -> new Tensor[]{
                input(b, "hcopy", 0, 3, 5, 7, 2).to(d).permute(2, 0, 3, 1).contiguous()}));
        String linear = "matmul " + f + " linear [2,77,768] x [320,768]^T";
        c.add(check(linear, HALF_GEMM, b -> new Tensor[]{b.matmul(activation(b, input(b, linear, 0, 2, 77, 768), d),
                input(b, linear, 1, 320, 768).to(d), false, true)}));
        String linearGrad = "matmul " + f + " linear input grad [154,320] x W";
        c.add(check(linearGrad, HALF_GEMM, b -> new Tensor[]{b.matmul(
                activation(b, input(b, linearGrad, 0, 154, 320), d), input(b, linearGrad, 1, 320, 768).to(d), false,
                false)}));
        String weightA = "matmul " + f + " W [48,96] x batched [3,40,96]^T";
        c.add(check(weightA, HALF_GEMM, b -> new Tensor[]{b.matmul(input(b, weightA, 0, 48, 96).to(d),
                activation(b, input(b, weightA, 1, 3, 40, 96), d), false, true)}));
        String conv = "conv2d " + f + " 3x3 pad 1 + bias";
        c.add(check(conv, HALF_GEMM, b -> new Tensor[]{b.conv2d(activation(b, input(b, conv, 0, 2, 8, 13, 11), d),
                input(b, conv, 1, 16, 8, 3, 3).to(d), input(b, conv, 2, 16), 1, 1)}));
        String conv2 = "conv2d " + f + " 3x3 stride 2";
        c.add(check(conv2, HALF_GEMM, b -> new Tensor[]{b.conv2d(activation(b, input(b, conv2, 0, 2, 5, 12, 9), d),
                input(b, conv2, 1, 7, 5, 3, 3).to(d), null, 2, 1)}));
        String iconv = "conv2d implicit " + f + " 3x3 pad 1 + bias";
        c.add(check(iconv, HALF_GEMM, b -> implicitConv(b, () -> new Tensor[]{b.conv2d(
                activation(b, input(b, iconv, 0, 2, 8, 13, 11), d), input(b, iconv, 1, 70, 8, 3, 3).to(d),
                input(b, iconv, 2, 70), 1, 1)})));
        String convGrad = "conv2d " + f + " backward input stride 2";
        c.add(check(convGrad, HALF_GEMM, b -> new Tensor[]{b.conv2dBackwardInput(
                activation(b, input(b, convGrad, 0, 2, 7, 6, 5), d), input(b, convGrad, 1, 7, 5, 3, 3).to(d),
                new int[]{2, 5, 12, 9}, 2, 1)}));
        int[] ids = {3, 0, 7, 3, 9, 3, 1};
        c.add(check("embedding " + f, 0, b -> new Tensor[]{b.embedding(input(b, "hemb", 0, 10, 33).to(d), ids)}));
        c.add(check("addInPlace into " + f + " (LoRA merge)", 0, b -> {
            Tensor w = input(b, "haip", 0, 1000).to(d);
            b.addInPlace(w, input(b, "haip", 1, -0.01f, 0.01f, 1000), -0.3f);
            return new Tensor[]{w};
        }));
        c.add(check("binary MUL of " + f + " (widened)", 0, b -> new Tensor[]{
                b.binary(BinaryOp.MUL, input(b, "hmul", 0, 4, 1, 33).to(d), input(b, "hmul", 1, 5, 33))}));
        c.add(check("reduce SUM of " + f + " (widened)", FP32, b -> new Tensor[]{
                b.reduce(ReduceOp.SUM, input(b, "hsum", 0, 2, 50, 33).to(d), new int[]{0, 1}, false)}));
        lora(c, "rank 4, " + f + " W (widened)", 154, 768, 320, 4, d);
    }

    /**
     * Floats whose rounding to bf16 and fp16 is easy to get wrong: exact ties (to even) at every exponent of both
     * formats, values at and beyond the largest finite ones, subnormals of all three formats, signed zeros,
     * infinities and NaN, and random bit patterns.
     */
    private static float[] roundingCases() {
        // fp16: largest finite, just below and at the tie with infinity, smallest normal, smallest subnormal, the
        // tie between it and zero, three quarters of it. bf16: largest finite (the tie above it is among the ties).
        List<Float> v = new ArrayList<>(List.of(0f, -0f, Float.POSITIVE_INFINITY, Float.NEGATIVE_INFINITY, Float.NaN,
                Float.MAX_VALUE, -Float.MAX_VALUE, Float.MIN_VALUE, -Float.MIN_VALUE, Float.MIN_NORMAL, 1e-40f,
                65504f, 65519.99f, 65520f, -65520f, 1e5f, Math.scalb(1f, -14), Math.scalb(1f, -24),
                Math.scalb(1f, -25), Math.scalb(3f, -26), 1e-6f, Float.intBitsToFloat(0x7F7F0000)));
        for (int e = 1; e < 255; e++) {
            for (int upper : new int[]{0, 1, 0x3A, 0x7F}) {
                // bf16 ties: the dropped 16 bits are exactly half an ulp, the kept ones even (0, 0x3A) or odd.
                v.add(Float.intBitsToFloat(e << 23 | upper << 16 | 0x8000));
                // fp16 ties: the dropped 13 bits are exactly half an ulp.
                v.add(-Float.intBitsToFloat(e << 23 | upper << 13 | 0x1000));
            }
        }
        for (int k = 0; k < 24; k++) {
            v.add(Math.scalb(k + 0.5f, -24));  // halfway between neighbouring fp16 subnormals
        }
        Random r = new Random(7);
        for (int i = 0; i < 4096; i++) {
            v.add(Float.intBitsToFloat(r.nextInt()));
            v.add((r.nextFloat() - 0.5f) * 140000f);
        }
        float[] out = new float[v.size()];
        for (int i = 0; i < out.length; i++) {
            out[i] = v.get(i);
        }
        return out;
    }

    private static void attention(List<ParityCheck> c, String shape, int bh, int nq, int nk, int d, int dv,
                                  boolean causal) {
        float scale = (float) (1 / Math.sqrt(d));
        String n = "attention " + shape;
        c.add(check(n, ACCUMULATED, b -> b.attention(input(b, n, 0, bh, nq, d), input(b, n, 1, bh, nk, d),
                input(b, n, 2, bh, nk, dv), scale, causal)));
        c.add(check(n + " backward", ACCUMULATED, b -> {
            Tensor q = input(b, n, 0, bh, nq, d), k = input(b, n, 1, bh, nk, d), v = input(b, n, 2, bh, nk, dv);
            Tensor[] f = b.attention(q, k, v, scale, causal);
            return b.attentionBackward(input(b, n, 3, bh, nq, dv), q, k, v, f[0], f[1], scale, causal);
        }));
    }

    /**
     * The fused LoRA kernel against its definition composed of CPU matmuls; a 16-bit base weight W reaches the
     * kernel widened, so the CPU's matmuls keep x in float32 as well.
     */
    private static void lora(List<ParityCheck> c, String shape, int m, int k, int n, int r, WeightDtype wd) {
        float scale = 0.5f;
        String name = "LoRA matmul " + shape;
        c.add(check(name, ACCUMULATED, b -> {
            Tensor x = input(b, name, 0, m, k), w = input(b, name, 1, -0.1f, 0.1f, n, k).to(wd),
                    a = input(b, name, 2, -0.1f, 0.1f, r, k), up = input(b, name, 3, -0.1f, 0.1f, n, r);
            if (b instanceof CudaBackend g) {
                return g.loraLinear(x, w, a, up, scale);
            }
            Tensor t = b.matmul(x, a, false, true);
            Tensor y = b.binary(BinaryOp.ADD, b.matmul(x, w, false, true),
                    b.unary(UnaryOp.MUL_SCALAR, b.matmul(t, up, false, true), scale));
            return new Tensor[]{y, t};
        }));
        c.add(check(name + " backward", ACCUMULATED, b -> {
            Tensor x = input(b, name, 0, m, k), w = input(b, name, 1, -0.1f, 0.1f, n, k).to(wd),
                    a = input(b, name, 2, -0.1f, 0.1f, r, k), up = input(b, name, 3, -0.1f, 0.1f, n, r);
            Tensor gy = input(b, name, 4, m, n);
            Tensor t = b.matmul(x, a, false, true);
            if (b instanceof CudaBackend g) {
                return g.loraLinearBackward(gy, x, w, a, up, t, scale);
            }
            Tensor u = b.matmul(gy, up, false, false);
            Tensor gx = b.binary(BinaryOp.ADD, b.matmul(gy, w, false, false),
                    b.unary(UnaryOp.MUL_SCALAR, b.matmul(u, a, false, false), scale));
            Tensor gA = b.unary(UnaryOp.MUL_SCALAR, b.matmul(u, x, true, false), scale);
            Tensor gB = b.unary(UnaryOp.MUL_SCALAR, b.matmul(gy, t, true, false), scale);
            return new Tensor[]{gx, gA, gB};
        }));
    }
}
