package io.texforce.tensor;

import java.util.List;

/**
 * The kernels a device must provide. Model code never calls a backend directly: it calls {@link Tensor} methods
 * and {@link Functional}, which record autograd nodes and dispatch here. Every method is free of autograd.
 *
 * <p>Unless a method says otherwise, tensor arguments may be arbitrary strided views and results are new,
 * contiguous tensors on this backend. The CPU backend is the reference every other backend is tested against.
 */
public interface Backend {
    /** A short name such as {@code "cpu"} or {@code "cuda:0"}. */
    String name();

    /**
     * Waits until every operation queued so far has finished; a no-op for backends that compute synchronously.
     * Only timings need it: copies to the host already wait.
     */
    default void synchronize() {
    }

    /** Zero-filled storage of {@code size} floats. */
    Storage allocate(int size);

    /** Storage holding a copy of (or, for the CPU, exactly) the given host array. */
    Storage fromHost(float[] data);

    /**
     * Storage of 16-bit elements ({@code bits} are bfloat16 or IEEE half patterns, see {@link WeightDtype}) for a
     * frozen weight. Matrix products and convolutions must accept such a weight as either operand (accumulating
     * in float32); other kernels may widen it. A backend without 16-bit storage throws
     * {@link UnsupportedOperationException}.
     */
    default Storage fromHostHalf(short[] bits, WeightDtype dtype) {
        throw new UnsupportedOperationException("the " + name() + " backend cannot store " + dtype.cliName()
                + " weights; load them as fp32");
    }

    /**
     * Asks for activations in {@code dtype}: FP32, or BF16/FP16 on backends that keep activations in 16 bits (matrix
     * products and attention write 16-bit results, the kernels after them read and write them as they are; sums,
     * statistics and parameter gradients stay float32). The CPU computes in float32 only and refuses a 16-bit format.
     */
    default void setActivationDtype(WeightDtype dtype) {
        if (dtype.isHalf()) {
            throw new UnsupportedOperationException("the " + name() + " backend keeps activations in fp32 only, not "
                    + dtype.cliName());
        }
    }

    /** The format of activations set by {@link #setActivationDtype}; FP32 unless a 16-bit one was set. */
    default WeightDtype activationDtype() {
        return WeightDtype.FP32;
    }

    /**
     * Sets the activation format until the returned scope is closed, which restores the one before (an autocast
     * region): {@code try (var bf16 = backend.activations(WeightDtype.BF16)) { ... }}. Backends that keep 16-bit
     * activations make the region the calling thread's only, as PyTorch's autocast does; the default sets and
     * restores {@link #setActivationDtype}.
     */
    default ActivationScope activations(WeightDtype dtype) {
        WeightDtype before = activationDtype();
        setActivationDtype(dtype);
        return () -> setActivationDtype(before);
    }

    /** What {@link #activations} returns: closing it restores the previous activation format. */
    interface ActivationScope extends AutoCloseable {
        @Override
        void close();
    }

    /** The elements of {@code t} in row-major order, copied to the host. */
    float[] toHost(Tensor t);

    /** Copies {@code src} into the (possibly strided) view {@code dst} of the same shape. */
    void copy(Tensor src, Tensor dst);

    /**
     * A new dense tensor holding the elements of {@code t} (any strides), in float32 unless this backend keeps
     * activations of t's 16-bit format as they are ({@link #setActivationDtype}).
     */
    default Tensor denseCopy(Tensor t) {
        Tensor out = full(t.shape(), 0f);
        copy(t, out);
        return out;
    }

    /** A new tensor of the given shape with every element {@code value}. */
    Tensor full(int[] shape, float value);

    /** Standard normal (or uniform [0,1) when {@code uniform}) counter-based random numbers. */
    Tensor random(int[] shape, long seed, long offset, boolean uniform);

    Tensor unary(UnaryOp op, Tensor x, float param);

    /** {@code gy * f'(x)} for a unary op, so backends can fuse the derivative of activations. */
    Tensor unaryBackward(UnaryOp op, Tensor gy, Tensor x, float param);

    /** Broadcasting binary op; the result has the broadcast shape. */
    Tensor binary(BinaryOp op, Tensor a, Tensor b);

    /** {@code cond != 0 ? a : b}, broadcasting all three. */
    Tensor where(Tensor cond, Tensor a, Tensor b);

    Tensor clamp(Tensor x, float min, float max);

    /** Reduction over {@code dims} (sorted, distinct); reduced dims are kept with size 1 when {@code keepDim}. */
    Tensor reduce(ReduceOp op, Tensor x, int[] dims, boolean keepDim);

    /**
     * Batched matrix product of the last two dims: a [..., M, K] (or [..., K, M] if {@code transA}) times
     * b [..., K, N] (or [..., N, K] if {@code transB}); leading dims broadcast.
     */
    Tensor matmul(Tensor a, Tensor b, boolean transA, boolean transB);

    /** Concatenation along {@code dim}. */
    Tensor concat(List<Tensor> parts, int dim);

    /** Rows of weight [vocab, dim] picked by {@code ids}; result [ids.length, dim]. */
    Tensor embedding(Tensor weight, int[] ids);

    /** Scatter-add of gy [ids.length, dim] into a zero [vocab, dim] gradient. */
    Tensor embeddingBackward(Tensor gy, int[] ids, int vocab);

    /** x [N, C, H, W] with weight [O, C, kh, kw] and optional bias [O]. */
    Tensor conv2d(Tensor x, Tensor weight, Tensor bias, int stride, int padding);

    Tensor conv2dBackwardInput(Tensor gy, Tensor weight, int[] xShape, int stride, int padding);

    /** Returns {gWeight, gBias}; gBias is null when {@code withBias} is false. */
    Tensor[] conv2dBackwardWeight(Tensor gy, Tensor x, int[] wShape, int stride, int padding, boolean withBias);

    /** x [N, C, ...]: returns {y, mean [N, G], rstd [N, G]}; gamma/beta [C] may be null. */
    Tensor[] groupNorm(Tensor x, int groups, Tensor gamma, Tensor beta, float eps);

    /** Returns {gx, gGamma, gBeta}; the parameter gradients are null when gamma/beta were null. */
    Tensor[] groupNormBackward(Tensor gy, Tensor x, Tensor mean, Tensor rstd, Tensor gamma, boolean withBeta,
                               int groups);

    /** Normalises over the last dim: returns {y, mean, rstd} with mean/rstd of shape [rows]. */
    Tensor[] layerNorm(Tensor x, Tensor gamma, Tensor beta, float eps);

    Tensor[] layerNormBackward(Tensor gy, Tensor x, Tensor mean, Tensor rstd, Tensor gamma, boolean withBeta);

    /** Softmax over the last dim. */
    Tensor softmax(Tensor x);

    Tensor softmaxBackward(Tensor gy, Tensor y);

    /**
     * Attention over q [B, Nq, D], k [B, Nk, D], v [B, Nk, Dv]; returns {out [B, Nq, Dv], lse [B, Nq]} and never
     * materialises the whole [Nq, Nk] score matrix.
     */
    Tensor[] attention(Tensor q, Tensor k, Tensor v, float scale, boolean causal);

    /** Returns {gq, gk, gv}. */
    Tensor[] attentionBackward(Tensor gOut, Tensor q, Tensor k, Tensor v, Tensor out, Tensor lse, float scale,
                               boolean causal);

    /**
     * {@link #attention(Tensor, Tensor, Tensor, float, boolean)} in a model's compute precision: with bf16 or fp16 a
     * backend may round q, k, v and the probabilities to that format for its matrix units, keeping scores, the
     * softmax statistics, accumulators and results in float32 (as PyTorch's SDPA under autocast). FP32 asks for the
     * exact computation. A backend without such a kernel computes exactly whatever is asked: the CPU does.
     */
    default Tensor[] attention(Tensor q, Tensor k, Tensor v, float scale, boolean causal, WeightDtype precision) {
        return attention(q, k, v, scale, causal);
    }

    /** The gradients of {@link #attention(Tensor, Tensor, Tensor, float, boolean, WeightDtype)}: {gq, gk, gv}. */
    default Tensor[] attentionBackward(Tensor gOut, Tensor q, Tensor k, Tensor v, Tensor out, Tensor lse, float scale,
                                       boolean causal, WeightDtype precision) {
        return attentionBackward(gOut, q, k, v, out, lse, scale, causal);
    }

    /**
     * Whether {@link #loraLinear} runs as one fused kernel for a frozen {@code weight} [N, K] and an adapter of
     * {@code rank}; when false (the default) layers compose the LoRA path from matmuls.
     */
    default boolean fusesLora(Tensor weight, int rank) {
        return false;
    }

    /**
     * y = x W^T + scale (x A^T) B^T over x [..., K], W [N, K], A [R, K], B [N, R] in one pass over x, for backends
     * whose {@link #fusesLora} says so. Returns {y [..., N], t [M, R]} with t = x A^T (rows of x flattened), which the
     * backward reuses.
     */
    default Tensor[] loraLinear(Tensor x, Tensor w, Tensor a, Tensor b, float scale) {
        throw new UnsupportedOperationException("backend " + name() + " has no fused LoRA kernel");
    }

    /** The gradients of {@link #loraLinear} for gy [..., N]: {gx, gA, gB} (W is frozen). */
    default Tensor[] loraLinearBackward(Tensor gy, Tensor x, Tensor w, Tensor a, Tensor b, Tensor t, float scale) {
        throw new UnsupportedOperationException("backend " + name() + " has no fused LoRA kernel");
    }

    /** Nearest-neighbour x2 upsampling of [N, C, H, W]. */
    Tensor upsampleNearest2x(Tensor x);

    Tensor upsampleNearest2xBackward(Tensor gy);

    /** GEGLU: x [..., 2H] split into (h, gate) along the last dim; returns h * gelu(gate). */
    Tensor geglu(Tensor x);

    Tensor gegluBackward(Tensor gy, Tensor x);

    /** In place: {@code dst += alpha * src} (same shape; dst contiguous). */
    void addInPlace(Tensor dst, Tensor src, float alpha);

    /**
     * One AdamW step in place on contiguous param/m/v with gradient g (PyTorch's formulas, decoupled weight
     * decay, bias correction for step {@code step} counted from 1).
     */
    void adamW(Tensor param, Tensor g, Tensor m, Tensor v, float lr, float beta1, float beta2, float eps,
               float weightDecay, int step);
}
