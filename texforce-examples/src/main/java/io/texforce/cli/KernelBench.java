package io.texforce.cli;

import com.fasterxml.jackson.databind.ObjectMapper;
import com.fasterxml.jackson.databind.node.ObjectNode;
import io.texforce.cuda.ConvAlgorithm;
import io.texforce.cuda.CudaBackend;
import io.texforce.cuda.CudaUnavailableException;
import io.texforce.tensor.Backend;
import io.texforce.tensor.Functional;
import io.texforce.tensor.GradMode;
import io.texforce.tensor.Tensor;
import io.texforce.tensor.WeightDtype;
import io.texforce.tensor.nn.Linear;
import io.texforce.tensor.nn.LoraAdapter;
import io.texforce.tensor.random.Generator;

import java.util.ArrayList;
import java.util.List;
import java.util.function.Supplier;

/**
 * The kernels that dominate a Stable Diffusion U-Net step, at the shapes of its first level (320 channels, 8 heads
 * of 40, latent side x side tokens; side 64 is SD 1.5 at 512x512), each next to
 * the composition of plain ops (or the GEMM of the same FLOPs) that it replaces, on any backend: on the CPU the
 * same comparisons as the JMH suite, on a GPU our kernels against cuBLAS through the same public API. One JSON
 * object per kernel; times are medians that wait for the device before stopping the clock.
 */
final class KernelBench {
    private static final int HEADS = 8, HEAD_DIM = 40, CHANNELS = 320, LORA_RANK = 4;

    /** Times one thunk: the median of {@code iterations} runs after {@code warmup} untimed ones, in seconds. */
    interface Timer {
        double median(Runnable body);
    }

    private final Backend be;
    private final Timer timer;
    private final int side, tokens;
    private final Generator gen = new Generator(7);
    private final ObjectMapper json = new ObjectMapper();

    KernelBench(Backend be, Timer timer, int side) {
        this.be = be;
        this.timer = timer;
        this.side = side;
        this.tokens = side * side;
    }

    /** Runs every comparison (or those whose name contains {@code filter}) and returns one JSON line each. */
    List<String> run(String filter) {
        List<String> lines = new ArrayList<>();
        for (var c : comparisons()) {
            if (c.name().contains(filter)) {
                try {
                    lines.add(measure(c).toString());
                } catch (CudaUnavailableException e) {
                    // A comparison whose library is missing here (cuDNN) says so; the others still run.
                    lines.add(json.createObjectNode().put("kernel", c.name()).put("error", e.getMessage()).toString());
                }
            }
        }
        return lines;
    }

    private record Comparison(String name, double work, String unit, Supplier<Runnable> ours, String baselineName,
                              Supplier<Runnable> baseline) {
    }

    private List<Comparison> comparisons() {
        double attentionFlops = 2.0 * 2.0 * HEADS * tokens * tokens * HEAD_DIM;
        double convFlops = 2.0 * CHANNELS * CHANNELS * 9 * side * side;
        double normBytes = 2.0 * 4 * CHANNELS * side * side;
        List<Comparison> list = List.of(
                new Comparison("gemm_" + tokens + "x1280x320", 2.0 * tokens * 1280 * 320, "GFLOP/s",
                        () -> matmul(tokens, 320, 1280), null, null),
                new Comparison("attention_forward", attentionFlops, "GFLOP/s", () -> attention(WeightDtype.FP32),
                        "unfused_matmul_softmax_matmul", this::unfusedAttention),
                new Comparison("attention_forward_bf16", attentionFlops, "GFLOP/s", () -> attention(WeightDtype.BF16),
                        "attention_forward_fp32", () -> attention(WeightDtype.FP32)),
                new Comparison("attention_forward_same_flop_gemm", attentionFlops, "GFLOP/s",
                        () -> attention(WeightDtype.FP32),
                        "gemm_" + tokens + "x" + tokens + "x640", () -> matmul(tokens, 2 * HEADS * HEAD_DIM, tokens)),
                new Comparison("attention_forward_backward", 3.5 * attentionFlops, "GFLOP/s",
                        () -> attentionWithBackward(WeightDtype.FP32), null, null),
                new Comparison("attention_bf16_forward_backward", 3.5 * attentionFlops, "GFLOP/s",
                        () -> attentionWithBackward(WeightDtype.BF16), "attention_fp32_forward_backward",
                        () -> attentionWithBackward(WeightDtype.FP32)),
                new Comparison("conv2d_3x3_320_" + side + "x" + side, convFlops, "GFLOP/s", this::conv,
                        "gemm_320x" + tokens + "x2880", () -> matmul(CHANNELS, 9 * CHANNELS, tokens)),
                new Comparison("group_norm_320_" + side + "x" + side, normBytes, "GB/s", this::groupNorm,
                        "elementwise_scale", this::scale));
        if (!(be instanceof CudaBackend)) {
            return list;
        }
        // A U-Net attention projection (batch 2) with a LoRA: the fused kernel against cuBLAS's three GEMMs. It
        // decides whether CudaBackend turns the fused kernel on by default (it is off until a GPU says so).
        double m = 2.0 * tokens, loraFlops = 3 * (2 * m * CHANNELS * CHANNELS + 4 * m * CHANNELS * LORA_RANK);
        List<Comparison> all = new ArrayList<>(list);
        all.add(new Comparison("lora_linear_fused_forward_backward", loraFlops, "GFLOP/s", () -> loraLinear(true),
                "lora_linear_cublas_forward_backward", () -> loraLinear(false)));
        // Our implicit-GEMM convolution and cuDNN against im2col + cuBLAS (the default until these lines say
        // another is faster), forward in float32 and bf16, and forward + both gradients as training runs them.
        String s = side + "x" + side;
        all.add(new Comparison("conv2d_implicit_3x3_320_" + s, convFlops, "GFLOP/s",
                () -> convOn(ConvAlgorithm.IMPLICIT_GEMM, conv()), "conv2d_im2col_cublas",
                () -> convOn(ConvAlgorithm.IM2COL_GEMM, conv())));
        all.add(new Comparison("conv2d_cudnn_3x3_320_" + s, convFlops, "GFLOP/s",
                () -> convOn(ConvAlgorithm.CUDNN, conv()), "conv2d_im2col_cublas",
                () -> convOn(ConvAlgorithm.IM2COL_GEMM, conv())));
        all.add(new Comparison("conv2d_cudnn_bf16_3x3_320_" + s, convFlops, "GFLOP/s",
                () -> inBf16(convOn(ConvAlgorithm.CUDNN, conv(WeightDtype.BF16))), "conv2d_im2col_cublas_bf16",
                () -> inBf16(convOn(ConvAlgorithm.IM2COL_GEMM, conv(WeightDtype.BF16)))));
        all.add(new Comparison("conv2d_cudnn_forward_backward_3x3_320_" + s, 3 * convFlops, "GFLOP/s",
                () -> convOn(ConvAlgorithm.CUDNN, convWithBackward()), "conv2d_im2col_cublas_forward_backward",
                () -> convOn(ConvAlgorithm.IM2COL_GEMM, convWithBackward())));
        // 16-bit activations (bf16 weights too) against the same kernels in float32: what --activations bf16 gains
        // per kernel (half the bytes for the norm, tensor cores for the convolution's GEMM).
        all.add(new Comparison("group_norm_bf16_320_" + side + "x" + side, normBytes / 2, "GB/s",
                () -> inBf16(groupNorm(WeightDtype.BF16)), "group_norm_fp32", this::groupNorm));
        all.add(new Comparison("conv2d_bf16_3x3_320_" + side + "x" + side, convFlops, "GFLOP/s",
                () -> inBf16(conv(WeightDtype.BF16)), "conv2d_fp32", this::conv));
        return all;
    }

    private ObjectNode measure(Comparison c) {
        ObjectNode n = json.createObjectNode();
        n.put("kernel", c.name());
        double ours = time(c.ours());
        n.put("ms", BenchCommand.round(ours * 1e3));
        n.put(c.unit().equals("GB/s") ? "gb_per_s" : "gflop_per_s", BenchCommand.round(c.work() / ours / 1e9));
        if (c.baseline() != null) {
            double base = time(c.baseline());
            n.put("baseline", c.baselineName());
            n.put("baseline_ms", BenchCommand.round(base * 1e3));
            n.put("ours_over_baseline_time", BenchCommand.round(ours / base));
        }
        return n;
    }

    /** Builds the inputs outside the timed region, then times the body without autograd unless it asks for it. */
    private double time(Supplier<Runnable> setup) {
        Runnable body = setup.get();
        return timer.median(body);
    }

    private Runnable matmul(int m, int k, int n) {
        Tensor a = gen.randn(be, m, k), b = gen.randn(be, k, n);
        return () -> {
            try (var g = GradMode.noGrad()) {
                a.matmul(b);
            }
        };
    }

    private Tensor[] qkv(boolean grad) {
        Tensor[] t = new Tensor[3];
        for (int i = 0; i < 3; i++) {
            t[i] = gen.randn(be, HEADS, tokens, HEAD_DIM).requiresGrad(grad);
        }
        return t;
    }

    /**
     * Attention in a model's compute precision: bf16 runs the tensor-core kernel on a GPU (the CPU computes exactly
     * in every precision).
     */
    private Runnable attention(WeightDtype precision) {
        Tensor[] t = qkv(false);
        float scale = (float) (1 / Math.sqrt(HEAD_DIM));
        return () -> {
            try (var g = GradMode.noGrad()) {
                Functional.attention(t[0], t[1], t[2], scale, false, precision);
            }
        };
    }

    private Runnable unfusedAttention() {
        Tensor[] t = qkv(false);
        float scale = (float) (1 / Math.sqrt(HEAD_DIM));
        return () -> {
            try (var g = GradMode.noGrad()) {
                t[0].matmul(t[1].transpose(1, 2)).mul(scale).softmax().matmul(t[2]);
            }
        };
    }

    /** Attention forward and backward in a model's compute precision (bf16: both on tensor cores on a GPU). */
    private Runnable attentionWithBackward(WeightDtype precision) {
        Tensor[] t = qkv(true);
        float scale = (float) (1 / Math.sqrt(HEAD_DIM));
        Tensor gOut = gen.randn(be, HEADS, tokens, HEAD_DIM);
        return () -> Functional.attention(t[0], t[1], t[2], scale, false, precision).mul(gOut).sum().backward();
    }

    private Runnable conv() {
        return conv(WeightDtype.FP32);
    }

    /** The convolution with its input and weight stored in {@code dtype}. */
    private Runnable conv(WeightDtype dtype) {
        Tensor x = gen.randn(be, 1, CHANNELS, side, side).to(dtype);
        Tensor w = gen.randn(be, CHANNELS, CHANNELS, 3, 3).mul(0.02f).to(dtype);
        return () -> {
            try (var g = GradMode.noGrad()) {
                Functional.conv2d(x, w, null, 1, 1);
            }
        };
    }

    private Runnable groupNorm() {
        return groupNorm(WeightDtype.FP32);
    }

    /** Group norm of an activation stored in {@code dtype}. */
    private Runnable groupNorm(WeightDtype dtype) {
        Tensor x = gen.randn(be, 1, CHANNELS, side, side).to(dtype);
        return () -> {
            try (var g = GradMode.noGrad()) {
                Functional.groupNorm(x, 32, null, null, 1e-5f);
            }
        };
    }

    /**
     * Forward and backward of a [2, tokens, 320] -> 320 Linear with a rank-4 LoRA (gradients to the input and the
     * factors), with CudaBackend's fused LoRA kernel on or off.
     */
    private Runnable loraLinear(boolean fused) {
        CudaBackend cuda = (CudaBackend) be;
        Linear layer = new Linear(gen.randn(be, CHANNELS, CHANNELS).mul(0.05f), null);
        layer.lora().add(new LoraAdapter("bench", gen.randn(be, LORA_RANK, CHANNELS).mul(0.05f).requiresGrad(true),
                gen.randn(be, CHANNELS, LORA_RANK).mul(0.05f).requiresGrad(true), LORA_RANK, 1f), "bench");
        Tensor x = gen.randn(be, 2, tokens, CHANNELS).requiresGrad(true), gy = gen.randn(be, 2, tokens, CHANNELS);
        return () -> {
            boolean before = cuda.fusedLora();
            cuda.setFusedLora(fused);
            try {
                layer.forward(x).mul(gy).sum().backward();
            } finally {
                cuda.setFusedLora(before);
            }
        };
    }

    /** {@code body} with CudaBackend's convolutions on {@code algorithm} (restored afterwards). */
    private Runnable convOn(ConvAlgorithm algorithm, Runnable body) {
        CudaBackend cuda = (CudaBackend) be;
        return () -> {
            ConvAlgorithm before = cuda.convAlgorithm();
            cuda.setConvAlgorithm(algorithm);
            try {
                body.run();
            } finally {
                cuda.setConvAlgorithm(before);
            }
        };
    }

    /** The convolution of {@link #conv} forward, then the gradients of its input and weight. */
    private Runnable convWithBackward() {
        Tensor x = gen.randn(be, 1, CHANNELS, side, side).requiresGrad(true);
        Tensor w = gen.randn(be, CHANNELS, CHANNELS, 3, 3).mul(0.02f).requiresGrad(true);
        Tensor gy = gen.randn(be, 1, CHANNELS, side, side);
        return () -> Functional.conv2d(x, w, null, 1, 1).mul(gy).sum().backward();
    }

    /** {@code body} with the GPU's activations in bf16 (restored afterwards). */
    private Runnable inBf16(Runnable body) {
        return () -> {
            try (var bf16 = be.activations(WeightDtype.BF16)) {
                body.run();
            }
        };
    }

    /** One read and one write of the same tensor: the bandwidth a group norm could reach. */
    private Runnable scale() {
        Tensor x = gen.randn(be, 1, CHANNELS, side, side);
        return () -> {
            try (var g = GradMode.noGrad()) {
                x.mul(2f);
            }
        };
    }
}
