package io.texforce.tensor;

import java.util.Arrays;

/**
 * Differentiable neural-network operations (the counterpart of {@code torch.nn.functional}). Each records one
 * autograd node whose backward is a fused backend kernel, so the CPU and GPU backends match op for op.
 */
public final class Functional {
    private Functional() {
    }

    /** {@code x @ weight^T + bias} for x [..., in], weight [out, in], bias [out] or null. */
    public static Tensor linear(Tensor x, Tensor weight, Tensor bias) {
        int[] xs = x.shape(), ws = weight.shape();
        if (ws.length != 2 || xs.length == 0 || xs[xs.length - 1] != ws[1]) {
            throw new IllegalArgumentException("linear of input " + Shape.str(xs) + " with weight " + Shape.str(ws)
                    + " (expected [..., in] and [out, in])");
        }
        Tensor y = Tensor.matmul(x, weight, false, true);
        return bias == null ? y : y.add(bias);
    }

    /**
     * x W^T + scale (x A^T) B^T for a frozen W [out, in] and one LoRA adapter (A [r, in], B [out, r]) as the
     * backend's fused op ({@link Backend#loraLinear}); callers check {@link Backend#fusesLora} first and add any bias.
     * Gradients flow to x, A and B.
     */
    public static Tensor loraLinear(Tensor x, Tensor w, Tensor a, Tensor b, float scale) {
        Backend be = Tensor.sameBackend("loraLinear", x, w, a, b);
        if (w.requiresGrad()) {
            throw new IllegalArgumentException("the fused LoRA op takes a frozen base weight; this one (shape "
                    + Shape.str(w.shape()) + ") requires grad");
        }
        Tensor[] res = be.loraLinear(x, w, a, b, scale);
        return Autograd.record(res[0], "lora_linear",
                g -> be.loraLinearBackward(g.contiguous(), x, w, a, b, res[1], scale), x, a, b);
    }

    /** 2-D convolution of x [N, C, H, W] with weight [O, C, kh, kw], square stride and zero padding. */
    public static Tensor conv2d(Tensor x, Tensor weight, Tensor bias, int stride, int padding) {
        Backend be = Tensor.sameBackend("conv2d", x, weight, bias);
        Tensor y = be.conv2d(x, weight, bias, stride, padding);
        if (!Autograd.needsGrad(x, weight, bias)) {
            return y;
        }
        int[] xs = x.shape(), ws = weight.shape();
        boolean needInput = x.requiresGrad();
        boolean needBias = bias != null && bias.requiresGrad();
        boolean needWeight = weight.requiresGrad() || needBias;
        // The input is read only by the weight gradient: a frozen convolution does not keep its input alive.
        Tensor savedX = needWeight ? x : null;
        Tensor savedW = needInput ? weight : null;
        return Autograd.record(y, "conv2d", g -> {
            Tensor gx = needInput ? be.conv2dBackwardInput(g, savedW, xs, stride, padding) : null;
            Tensor gw = null, gb = null;
            if (needWeight) {
                Tensor[] r = be.conv2dBackwardWeight(g, savedX, ws, stride, padding, needBias);
                gw = r[0];
                gb = r[1];
            }
            return new Tensor[]{gx, gw, gb};
        }, x, weight, bias);
    }

    /** Group norm of x [N, C, ...] with optional affine gamma/beta [C]. */
    public static Tensor groupNorm(Tensor x, int groups, Tensor gamma, Tensor beta, float eps) {
        Backend be = Tensor.sameBackend("group_norm", x, gamma, beta);
        Tensor[] r = be.groupNorm(x, groups, gamma, beta, eps);
        return Autograd.record(r[0], "group_norm", g -> {
            Tensor[] gr = be.groupNormBackward(g, x, r[1], r[2], gamma, beta != null, groups);
            return new Tensor[]{gr[0], gr[1], gr[2]};
        }, x, gamma, beta);
    }

    /** Layer norm over the last dimension, with optional affine gamma/beta. */
    public static Tensor layerNorm(Tensor x, Tensor gamma, Tensor beta, float eps) {
        Backend be = Tensor.sameBackend("layer_norm", x, gamma, beta);
        Tensor[] r = be.layerNorm(x, gamma, beta, eps);
        return Autograd.record(r[0], "layer_norm", g -> {
            Tensor[] gr = be.layerNormBackward(g, x, r[1], r[2], gamma, beta != null);
            return new Tensor[]{gr[0], gr[1], gr[2]};
        }, x, gamma, beta);
    }

    /**
     * Scaled dot-product attention on q [..., Nq, D], k [..., Nk, D], v [..., Nk, Dv] (leading dims are batch and
     * heads); {@code scale} is usually 1/sqrt(D). With {@code causal}, query i attends to keys j <= i.
     */
    public static Tensor attention(Tensor q, Tensor k, Tensor v, float scale, boolean causal) {
        return attention(q, k, v, scale, causal, WeightDtype.FP32);
    }

    /**
     * {@link #attention(Tensor, Tensor, Tensor, float, boolean)} in the compute precision of the model that calls
     * it, the format of its frozen weights: bf16 or fp16 lets the backend run the products on 16-bit inputs with
     * float32 accumulation (see {@link Backend#attention(Tensor, Tensor, Tensor, float, boolean, WeightDtype)}),
     * FP32 keeps them exact.
     */
    public static Tensor attention(Tensor q, Tensor k, Tensor v, float scale, boolean causal,
                                   WeightDtype precision) {
        int[] qs = q.shape(), ks = k.shape(), vs = v.shape();
        if (qs.length < 2 || qs.length != ks.length || ks.length != vs.length) {
            throw new IllegalArgumentException("attention of q " + Shape.str(qs) + ", k " + Shape.str(ks) + ", v "
                    + Shape.str(vs));
        }
        int r = qs.length;
        int[] lead = Arrays.copyOf(qs, r - 2);
        Tensor q3 = q.reshape(-1, qs[r - 2], qs[r - 1]).contiguous();
        Tensor k3 = k.reshape(-1, ks[r - 2], ks[r - 1]).contiguous();
        Tensor v3 = v.reshape(-1, vs[r - 2], vs[r - 1]).contiguous();
        Backend be = Tensor.sameBackend("attention", q, k, v);
        Tensor[] res = be.attention(q3, k3, v3, scale, causal, precision);
        Tensor out = Autograd.record(res[0], "attention", g -> {
            Tensor[] gr = be.attentionBackward(g.contiguous(), q3, k3, v3, res[0], res[1], scale, causal, precision);
            return new Tensor[]{gr[0], gr[1], gr[2]};
        }, q3, k3, v3);
        int[] os = Arrays.copyOf(lead, r);
        os[r - 2] = qs[r - 2];
        os[r - 1] = vs[r - 1];
        return out.reshape(os);
    }

    /** Rows of weight [vocab, dim] for each id; result [ids.length, dim]. */
    public static Tensor embedding(Tensor weight, int[] ids) {
        Backend be = weight.backend();
        Tensor y = be.embedding(weight, ids);
        int vocab = weight.shape()[0];
        return Autograd.record(y, "embedding", g -> new Tensor[]{be.embeddingBackward(g, ids, vocab)}, weight);
    }

    /** Nearest-neighbour x2 upsampling of [N, C, H, W]. */
    public static Tensor upsampleNearest2x(Tensor x) {
        Backend be = x.backend();
        Tensor y = be.upsampleNearest2x(x);
        return Autograd.record(y, "upsample_nearest2x", g -> new Tensor[]{be.upsampleNearest2xBackward(g)}, x);
    }

    /** GEGLU on x [..., 2H]: the first half times the exact GELU of the second half, as diffusers' GEGLU. */
    public static Tensor geglu(Tensor x) {
        Backend be = x.backend();
        Tensor y = be.geglu(x);
        return Autograd.record(y, "geglu", g -> new Tensor[]{be.gegluBackward(g, x)}, x);
    }

    /**
     * Sinusoidal timestep embedding [n, dim] as diffusers' {@code get_timestep_embedding}: frequencies
     * {@code exp(-ln(maxPeriod) * i / (half - downscaleFreqShift))}, sin then cos (swapped when
     * {@code flipSinToCos}), zero-padded when dim is odd. Not differentiable (timesteps are data).
     */
    public static Tensor timestepEmbedding(float[] timesteps, int dim, boolean flipSinToCos, float downscaleFreqShift,
                                           float scale, float maxPeriod) {
        int half = dim / 2;
        float[] out = new float[timesteps.length * dim];
        for (int i = 0; i < timesteps.length; i++) {
            for (int j = 0; j < half; j++) {
                // Float32 at every step, in diffusers' order: the argument of sin reaches ~1000 rad, where a
                // differently rounded frequency would move the result by 1e-4.
                float exponent = (float) -Math.log(maxPeriod) * j / (half - downscaleFreqShift);
                float freq = (float) Math.exp(exponent);
                float arg = scale * (timesteps[i] * freq);
                float s = (float) Math.sin(arg), c = (float) Math.cos(arg);
                out[i * dim + j] = flipSinToCos ? c : s;
                out[i * dim + half + j] = flipSinToCos ? s : c;
            }
        }
        return Tensor.of(out, timesteps.length, dim);
    }

    /** Zero padding of the last two dims of x [..., H, W] by (left, right, top, bottom), as torch's F.pad. */
    public static Tensor pad2d(Tensor x, int left, int right, int top, int bottom) {
        int[] s = x.shape();
        int r = s.length;
        Tensor out = x;
        if (left > 0 || right > 0) {
            java.util.List<Tensor> parts = new java.util.ArrayList<>();
            int[] side = s.clone();
            if (left > 0) {
                side[r - 1] = left;
                parts.add(x.backend().full(side, 0f));
            }
            parts.add(out);
            if (right > 0) {
                side[r - 1] = right;
                parts.add(x.backend().full(side.clone(), 0f));
            }
            out = Tensor.concat(parts, r - 1);
        }
        if (top > 0 || bottom > 0) {
            int[] s2 = out.shape();
            java.util.List<Tensor> parts = new java.util.ArrayList<>();
            if (top > 0) {
                s2[r - 2] = top;
                parts.add(x.backend().full(s2.clone(), 0f));
            }
            parts.add(out);
            if (bottom > 0) {
                s2[r - 2] = bottom;
                parts.add(x.backend().full(s2.clone(), 0f));
            }
            out = Tensor.concat(parts, r - 2);
        }
        return out;
    }
}
