package io.texforce.unet.nn;

import io.texforce.tensor.Functional;
import io.texforce.tensor.Tensor;
import io.texforce.tensor.WeightDtype;
import io.texforce.tensor.nn.GroupNorm;
import io.texforce.tensor.nn.Linear;
import io.texforce.tensor.nn.Module;
import io.texforce.tensor.nn.ModuleDict;
import io.texforce.tensor.nn.VarBuilder;

/**
 * diffusers' {@code Attention}: multi-head attention with {@code to_q}, {@code to_k}, {@code to_v} and
 * {@code to_out.0}. Self-attention when no context is given, cross-attention otherwise. The VAE variant adds a
 * group norm over image input and a residual connection, and may come with the legacy key names
 * {@code query/key/value/proj_attn}.
 */
public final class Attention extends Module {
    private final Linear toQ;
    private final Linear toK;
    private final Linear toV;
    private final Linear toOut;
    private final GroupNorm groupNorm;
    private final int heads;
    private final int headDim;
    private final boolean residual;

    /** The transformer-block attention (no norm, no residual). */
    public Attention(VarBuilder vb, int queryDim, int contextDim, int heads, int headDim, boolean bias) {
        int inner = heads * headDim;
        this.toQ = child("to_q", new Linear(vb.pp("to_q"), queryDim, inner, bias));
        this.toK = child("to_k", new Linear(vb.pp("to_k"), contextDim, inner, bias));
        this.toV = child("to_v", new Linear(vb.pp("to_v"), contextDim, inner, bias));
        ModuleDict out = child("to_out", new ModuleDict());
        this.toOut = out.put("0", new Linear(vb.pp("to_out").pp(0), inner, queryDim, true));
        this.groupNorm = null;
        this.heads = heads;
        this.headDim = headDim;
        this.residual = false;
    }

    private Attention(Linear q, Linear k, Linear v, Linear out, GroupNorm norm, int heads, int headDim) {
        this.groupNorm = child("group_norm", norm);
        this.toQ = child("to_q", q);
        this.toK = child("to_k", k);
        this.toV = child("to_v", v);
        ModuleDict o = child("to_out", new ModuleDict());
        this.toOut = o.put("0", out);
        this.heads = heads;
        this.headDim = headDim;
        this.residual = true;
    }

    /**
     * The VAE's spatial self-attention over [B, C, H, W] with group norm and residual. Reads the current key names
     * or, in older checkpoints, {@code query/key/value/proj_attn} (linear or 1x1-conv shaped).
     */
    public static Attention spatial(VarBuilder vb, int channels, int headDim, int groups, float eps) {
        boolean legacy = !vb.contains("to_q.weight") && vb.contains("query.weight");
        GroupNorm norm = new GroupNorm(vb.pp("group_norm"), groups, channels, eps);
        Linear q = legacyLinear(vb, legacy ? "query" : "to_q", channels);
        Linear k = legacyLinear(vb, legacy ? "key" : "to_k", channels);
        Linear v = legacyLinear(vb, legacy ? "value" : "to_v", channels);
        Linear o = legacyLinear(vb, legacy ? "proj_attn" : "to_out.0", channels);
        return new Attention(q, k, v, o, norm, channels / headDim, headDim);
    }

    private static Linear legacyLinear(VarBuilder vb, String name, int c) {
        VarBuilder sub = vb.pp(name);
        int[] stored = sub.storedShape("weight");
        Tensor w = stored != null && stored.length == 4
                ? sub.getFrozen("weight", c, c, 1, 1).reshape(c, c)
                : sub.getFrozen("weight", c, c);
        return new Linear(w, sub.get("bias", c));
    }

    /**
     * The format the attention products may run in: that of the frozen projection weights, as PyTorch's autocast
     * feeds SDPA the dtype its linear layers produce.
     */
    private WeightDtype precision() {
        return toQ.weight().dtype();
    }

    /** x [B, N, queryDim] (with optional context [B, M, contextDim]) -> [B, N, queryDim]. */
    public Tensor forward(Tensor x, Tensor context) {
        if (groupNorm != null) {
            return forwardSpatial(x);
        }
        Tensor ctx = context == null ? x : context;
        int b = x.size(0), n = x.size(1), m = ctx.size(1);
        Tensor q = toQ.forward(x).reshape(b, n, heads, headDim).permute(0, 2, 1, 3);
        Tensor k = toK.forward(ctx).reshape(b, m, heads, headDim).permute(0, 2, 1, 3);
        Tensor v = toV.forward(ctx).reshape(b, m, heads, headDim).permute(0, 2, 1, 3);
        Tensor o = Functional.attention(q, k, v, (float) (1.0 / Math.sqrt(headDim)), false, precision());
        return toOut.forward(o.permute(0, 2, 1, 3).reshape(b, n, heads * headDim));
    }

    private Tensor forwardSpatial(Tensor x) {
        int b = x.size(0), c = x.size(1), h = x.size(2), w = x.size(3);
        Tensor seq = groupNorm.forward(x).reshape(b, c, h * w).transpose(1, 2);
        Tensor q = toQ.forward(seq).reshape(b, h * w, heads, headDim).permute(0, 2, 1, 3);
        Tensor k = toK.forward(seq).reshape(b, h * w, heads, headDim).permute(0, 2, 1, 3);
        Tensor v = toV.forward(seq).reshape(b, h * w, heads, headDim).permute(0, 2, 1, 3);
        Tensor o = Functional.attention(q, k, v, (float) (1.0 / Math.sqrt(headDim)), false, precision());
        o = toOut.forward(o.permute(0, 2, 1, 3).reshape(b, h * w, c));
        return o.transpose(1, 2).reshape(b, c, h, w).add(x);
    }
}
