package io.texforce.clip.text;

import io.texforce.tensor.Functional;
import io.texforce.tensor.Tensor;
import io.texforce.tensor.nn.Linear;
import io.texforce.tensor.nn.Module;
import io.texforce.tensor.nn.VarBuilder;

/** Multi-head self-attention of a CLIP encoder layer ({@code self_attn.{q,k,v,out}_proj}). */
public final class ClipAttention extends Module {
    private final Linear q;
    private final Linear k;
    private final Linear v;
    private final Linear out;
    private final int heads;
    private final int headDim;

    public ClipAttention(VarBuilder vb, int hidden, int heads) {
        this.q = child("q_proj", new Linear(vb.pp("q_proj"), hidden, hidden, true));
        this.k = child("k_proj", new Linear(vb.pp("k_proj"), hidden, hidden, true));
        this.v = child("v_proj", new Linear(vb.pp("v_proj"), hidden, hidden, true));
        this.out = child("out_proj", new Linear(vb.pp("out_proj"), hidden, hidden, true));
        this.heads = heads;
        this.headDim = hidden / heads;
    }

    /** x [B, N, hidden] -> [B, N, hidden]. */
    public Tensor forward(Tensor x, boolean causal) {
        int b = x.size(0), n = x.size(1);
        Tensor qh = split(q.forward(x), b, n);
        Tensor kh = split(k.forward(x), b, n);
        Tensor vh = split(v.forward(x), b, n);
        // The products run in the format of the frozen projection weights (autocast's SDPA gets the dtype of its
        // linear layers' outputs).
        Tensor o = Functional.attention(qh, kh, vh, (float) (1.0 / Math.sqrt(headDim)), causal, q.weight().dtype());
        return out.forward(o.permute(0, 2, 1, 3).reshape(b, n, heads * headDim));
    }

    private Tensor split(Tensor t, int b, int n) {
        return t.reshape(b, n, heads, headDim).permute(0, 2, 1, 3);
    }
}
