package io.texforce.cuda;

import io.texforce.tensor.Backend;
import io.texforce.tensor.BinaryOp;
import io.texforce.tensor.ReduceOp;
import io.texforce.tensor.Shape;
import io.texforce.tensor.Tensor;
import io.texforce.tensor.UnaryOp;
import io.texforce.tensor.WeightDtype;

import java.util.List;
import java.util.function.Function;

/**
 * Parity checks of 16-bit activations ({@link CudaBackend#setActivationDtype}): each op runs on the GPU with its
 * activations in bf16 or fp16 and 16-bit inputs, and on the CPU in float32 on the same values (the inputs rounded
 * to the format) with the outputs the GPU stores in 16 bits rounded to that format afterwards. Both sides then round
 * one float32 result each, so besides the float32 slack of the op they differ by at most one unit in the last place
 * of the format: 2^-7 relative for bf16, 2^-10 for fp16. Each check also asserts the format of every GPU output, the
 * contract of mixed precision (GEMM results in the activation format, statistics and parameter gradients float32).
 */
final class HalfActivationChecks {
    private HalfActivationChecks() {
    }

    /** One unit in the last place of {@code d}, relative to the value. */
    static double ulp(WeightDtype d) {
        return d == WeightDtype.BF16 ? 0x1p-7 : 0x1p-10;
    }

    /**
     * An activation input: on the GPU stored in {@code d}, on the CPU float32 holding the same (rounded) values.
     */
    private static Tensor act(Backend b, WeightDtype d, String seed, int index, int... shape) {
        float[] x = ParityChecks.data(seed, index, Shape.numel(shape), -2f, 2f);
        for (int i = 0; i < x.length; i++) {
            x[i] = d.round(x[i]);
        }
        Tensor t = Tensor.of(b, x, shape);
        return b instanceof CudaBackend ? t.to(d) : t;
    }

    /**
     * A check of {@code op} with the GPU's activations in {@code d}: output i must come back in {@code formats[i]}
     * (H for the activation format, F for float32, null when either is right), and the CPU's output i is rounded to
     * d where formats[i] is not F.
     */
    private static ParityCheck check(String name, WeightDtype d, double tolerance, Format[] formats,
                                     Function<Backend, Tensor[]> op) {
        return new ParityCheck("activations " + d.cliName() + " " + name, tolerance + ulp(d), b -> {
            if (!(b instanceof CudaBackend g)) {
                Tensor[] out = op.apply(b);
                for (int i = 0; i < out.length; i++) {
                    if (out[i] != null && formats[i] != Format.F) {
                        out[i] = rounded(out[i], d);
                    }
                }
                return out;
            }
            try (var scope = g.activations(d)) {
                Tensor[] out = op.apply(g);
                for (int i = 0; i < out.length; i++) {
                    WeightDtype want = formats[i] == Format.H ? d : WeightDtype.FP32;
                    if (out[i] != null && formats[i] != null && out[i].dtype() != want) {
                        throw new AssertionError(name + ": output " + i + " is " + out[i].dtype().cliName()
                                + " with " + d.cliName() + " activations, expected " + want.cliName());
                    }
                }
                return out;
            }
        });
    }

    /** A float32 tensor on t's backend holding t's values rounded to {@code d} (what a 16-bit store keeps). */
    static Tensor rounded(Tensor t, WeightDtype d) {
        float[] v = t.toFloatArray();
        for (int i = 0; i < v.length; i++) {
            v[i] = d.round(v[i]);
        }
        return Tensor.of(t.backend(), v, t.shape());
    }

    /** Expected format of an output: the activation format or float32. */
    private enum Format { H, F }

    private static final Format H = Format.H, F = Format.F;

    private static Format[] formats(Format... f) {
        return f;
    }

    static void add(List<ParityCheck> c, WeightDtype d) {
        double fp32 = ParityChecks.FP32, gemm = ParityChecks.HALF_GEMM;
        c.add(check("copy strided (permute)", d, 0, formats(H), b -> new Tensor[]{
                act(b, d, "acopy", 0, 3, 5, 7, 2).permute(2, 0, 3, 1).contiguous()}));
        c.add(check("concat", d, 0, formats(H), b -> new Tensor[]{b.concat(List.of(act(b, d, "acat", 0, 2, 3, 5),
                act(b, d, "acat", 1, 2, 4, 5)), 1)}));
        c.add(check("unary SILU", d, fp32, formats(H), b -> new Tensor[]{
                b.unary(UnaryOp.SILU, act(b, d, "asilu", 0, 33, 65), 0f)}));
        c.add(check("unary GELU backward", d, fp32, formats(H), b -> new Tensor[]{
                b.unaryBackward(UnaryOp.GELU, act(b, d, "agelu", 1, 33, 65), act(b, d, "agelu", 0, 33, 65), 0f)}));
        c.add(check("binary ADD broadcast (residual)", d, fp32, formats(H), b -> new Tensor[]{
                b.binary(BinaryOp.ADD, act(b, d, "aadd", 0, 2, 8, 5, 5), act(b, d, "aadd", 1, 2, 8, 1, 1))}));
        // Both operands broadcast: float32 decides, as between two full-size operands.
        c.add(check("binary MUL with float32 (promoted)", d, fp32, formats(F), b -> new Tensor[]{
                b.binary(BinaryOp.MUL, act(b, d, "amul", 0, 4, 1, 33), ParityChecks.input(b, "amul", 1, 5, 33))}));
        c.add(check("binary SUB of full-size float32 (promoted)", d, fp32, formats(F), b -> new Tensor[]{
                b.binary(BinaryOp.SUB, ParityChecks.input(b, "asub", 0, 2, 4, 9), act(b, d, "asub", 1, 2, 4, 9))}));
        // A float32 bias broadcast over a 16-bit activation takes its format (a Linear's bias, a timestep embedding).
        c.add(check("binary ADD of a float32 bias (16-bit result)", d, fp32, formats(H), b -> new Tensor[]{
                b.binary(BinaryOp.ADD, ParityChecks.input(b, "abias", 0, 96), act(b, d, "abias", 1, 2, 7, 96))}));
        c.add(check("where", d, 0, formats(H), b -> new Tensor[]{b.where(ParityChecks.input(b, "awhere", 0, 3, 1, 8),
                act(b, d, "awhere", 1, 4, 8), act(b, d, "awhere", 2, 3, 4, 1))}));
        c.add(check("clamp", d, 0, formats(H), b -> new Tensor[]{b.clamp(act(b, d, "aclamp", 0, 100), -0.5f, 0.7f)}));
        c.add(check("reduce SUM (float32 result)", d, fp32, formats(F), b -> new Tensor[]{
                b.reduce(ReduceOp.SUM, act(b, d, "asum", 0, 2, 50, 33), new int[]{0, 1}, false)}));
        c.add(check("softmax (float32 result)", d, fp32, formats(F), b -> new Tensor[]{
                b.softmax(act(b, d, "asoft", 0, 6, 77))}));
        c.add(check("reduce MAX over a middle dim (float32 result)", d, fp32, formats(F), b -> new Tensor[]{
                b.reduce(ReduceOp.MAX, act(b, d, "amax", 0, 3, 40, 7), new int[]{1}, false)}));
        c.add(check("softmax backward of a 16-bit gradient (float32 result)", d, fp32, formats(F), b -> new Tensor[]{
                b.softmaxBackward(act(b, d, "asoftb", 1, 6, 77), b.softmax(act(b, d, "asoftb", 0, 6, 77)))}));
        String linear = "matmul linear [2,77,768] x W^T";
        c.add(check(linear + " (" + d.cliName() + " W)", d, gemm, formats(H), b -> new Tensor[]{b.matmul(
                act(b, d, linear, 0, 2, 77, 768), act(b, d, linear, 1, 320, 768), false, true)}));
        String fp32Operands = "matmul of float32 operands (rounded)";
        c.add(check(fp32Operands, d, gemm, formats(H), b -> {
            // The GPU rounds both float32 operands to the activation format; the CPU gets them rounded.
            Tensor x = ParityChecks.input(b, fp32Operands, 0, 3, 40, 96), w = ParityChecks.input(b, fp32Operands, 1,
                    3, 96, 50);
            return new Tensor[]{b instanceof CudaBackend ? b.matmul(x, w, false, false)
                    : b.matmul(rounded(x, d), rounded(w, d), false, false)};
        }));
        String conv = "conv2d 3x3 pad 1 + bias";
        c.add(check(conv, d, gemm, formats(H), b -> new Tensor[]{b.conv2d(act(b, d, conv, 0, 2, 8, 13, 11),
                act(b, d, conv, 1, 16, 8, 3, 3), ParityChecks.input(b, conv, 2, 16), 1, 1)}));
        String convIn = "conv2d backward input stride 2";
        c.add(check(convIn, d, gemm, formats(H), b -> new Tensor[]{b.conv2dBackwardInput(
                act(b, d, convIn, 0, 2, 7, 6, 5), act(b, d, convIn, 1, 7, 5, 3, 3), new int[]{2, 5, 12, 9}, 2, 1)}));
        String convW = "conv2d backward weight (float32 gradients)";
        c.add(check(convW, d, gemm, formats(F, F), b -> b.conv2dBackwardWeight(act(b, d, convW, 0, 2, 7, 13, 11),
                act(b, d, convW, 1, 2, 5, 13, 11), new int[]{7, 5, 3, 3}, 1, 1, true)));
        c.add(check("group norm", d, fp32, formats(H, F, F), b -> b.groupNorm(act(b, d, "agn", 0, 2, 32, 9, 7), 8,
                ParityChecks.input(b, "agn", 1, 32), ParityChecks.input(b, "agn", 2, 32), 1e-5f)));
        c.add(check("group norm backward", d, fp32, formats(H, F, F), b -> {
            Tensor x = act(b, d, "agn", 0, 2, 32, 9, 7), gamma = ParityChecks.input(b, "agn", 1, 32);
            Tensor[] f = b.groupNorm(x, 8, gamma, ParityChecks.input(b, "agn", 2, 32), 1e-5f);
            return b.groupNormBackward(act(b, d, "agn", 3, 2, 32, 9, 7), x, f[1], f[2], gamma, true, 8);
        }));
        c.add(check("layer norm", d, fp32, formats(H, F, F), b -> b.layerNorm(act(b, d, "aln", 0, 2, 77, 96),
                ParityChecks.input(b, "aln", 1, 96), ParityChecks.input(b, "aln", 2, 96), 1e-5f)));
        c.add(check("layer norm backward", d, fp32, formats(H, F, F), b -> {
            Tensor x = act(b, d, "aln", 0, 2, 77, 96), gamma = ParityChecks.input(b, "aln", 1, 96);
            Tensor[] f = b.layerNorm(x, gamma, ParityChecks.input(b, "aln", 2, 96), 1e-5f);
            return b.layerNormBackward(act(b, d, "aln", 3, 2, 77, 96), x, f[1], f[2], gamma, true);
        }));
        c.add(check("GEGLU", d, fp32, formats(H), b -> new Tensor[]{b.geglu(act(b, d, "ageglu", 0, 2, 9, 260))}));
        c.add(check("GEGLU backward", d, fp32, formats(H), b -> new Tensor[]{
                b.gegluBackward(act(b, d, "ageglu", 1, 2, 9, 130), act(b, d, "ageglu", 0, 2, 9, 260))}));
        c.add(check("upsample nearest x2", d, 0, formats(H), b -> new Tensor[]{
                b.upsampleNearest2x(act(b, d, "aup", 0, 2, 3, 5, 7))}));
        c.add(check("upsample nearest x2 backward", d, fp32, formats(H), b -> new Tensor[]{
                b.upsampleNearest2xBackward(act(b, d, "aup", 1, 2, 3, 10, 14))}));
        c.add(check("addInPlace of a 16-bit gradient into float32", d, fp32, formats(F), b -> {
            Tensor g = ParityChecks.input(b, "aaip", 0, 1000);
            b.addInPlace(g, act(b, d, "aaip", 1, 1000), 1f);
            return new Tensor[]{g};
        }));
        float scale = (float) (1 / Math.sqrt(40));
        String att = "attention cross 2x100x77 d40";
        // Where the tensor-core kernel does not apply (bf16 before sm_80) the float32 kernel answers in float32.
        c.add(check(att, d, ParityChecks.halfAttentionTolerance(d, false), formats(null, F), b -> b.attention(
                act(b, d, att, 0, 2, 100, 40), act(b, d, att, 1, 2, 77, 40), act(b, d, att, 2, 2, 77, 40), scale,
                false, d)));
        // gq accumulates with atomics (float32); gk and gv come in the activation format from the tensor cores.
        c.add(check(att + " backward", d, ParityChecks.halfAttentionTolerance(d, true), formats(F, null, null),
                b -> {
                    Tensor q = act(b, d, att, 0, 2, 100, 40), k = act(b, d, att, 1, 2, 77, 40),
                            v = act(b, d, att, 2, 2, 77, 40);
                    Tensor[] f = b.attention(q, k, v, scale, false, d);
                    return b.attentionBackward(act(b, d, att, 3, 2, 100, 40), q, k, v, f[0], f[1], scale, false, d);
                }));
    }
}
