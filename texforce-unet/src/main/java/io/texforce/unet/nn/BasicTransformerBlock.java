package io.texforce.unet.nn;

import io.texforce.tensor.Tensor;
import io.texforce.tensor.nn.LayerNorm;
import io.texforce.tensor.nn.Module;
import io.texforce.tensor.nn.VarBuilder;

/** Self-attention, cross-attention on the text embeddings, feed-forward; each pre-normed and residual. */
public final class BasicTransformerBlock extends Module {
    private final LayerNorm norm1;
    private final Attention attn1;
    private final LayerNorm norm2;
    private final Attention attn2;
    private final LayerNorm norm3;
    private final FeedForward ff;
    private final boolean onlyCrossAttention;

    public BasicTransformerBlock(VarBuilder vb, int dim, int heads, int headDim, int crossAttentionDim,
                                 boolean onlyCrossAttention) {
        this.onlyCrossAttention = onlyCrossAttention;
        this.norm1 = child("norm1", new LayerNorm(vb.pp("norm1"), dim, 1e-5f));
        this.attn1 = child("attn1", new Attention(vb.pp("attn1"), dim, onlyCrossAttention ? crossAttentionDim : dim,
                heads, headDim, false));
        this.norm2 = child("norm2", new LayerNorm(vb.pp("norm2"), dim, 1e-5f));
        this.attn2 = child("attn2", new Attention(vb.pp("attn2"), dim, crossAttentionDim, heads, headDim, false));
        this.norm3 = child("norm3", new LayerNorm(vb.pp("norm3"), dim, 1e-5f));
        this.ff = child("ff", new FeedForward(vb.pp("ff"), dim, 4, "geglu"));
    }

    /** x [B, N, dim], context [B, M, crossAttentionDim]. */
    public Tensor forward(Tensor x, Tensor context) {
        Tensor h = attn1.forward(norm1.forward(x), onlyCrossAttention ? context : null).add(x);
        h = attn2.forward(norm2.forward(h), context).add(h);
        return ff.forward(norm3.forward(h)).add(h);
    }
}
