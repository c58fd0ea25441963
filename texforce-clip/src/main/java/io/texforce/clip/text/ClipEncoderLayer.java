package io.texforce.clip.text;

import io.texforce.tensor.Tensor;
import io.texforce.tensor.nn.LayerNorm;
import io.texforce.tensor.nn.Module;
import io.texforce.tensor.nn.VarBuilder;

/** A pre-norm transformer layer: x + attn(ln1(x)), then x + mlp(ln2(x)). */
public final class ClipEncoderLayer extends Module {
    private final LayerNorm norm1;
    private final ClipAttention attn;
    private final LayerNorm norm2;
    private final ClipMlp mlp;

    public ClipEncoderLayer(VarBuilder vb, ClipTextConfig c) {
        this(vb, c.hiddenSize(), c.intermediateSize(), c.numAttentionHeads(), c.hiddenAct(), c.layerNormEps());
    }

    /** A layer of any CLIP tower (the image tower shares this layout with the text tower). */
    public ClipEncoderLayer(VarBuilder vb, int hidden, int intermediate, int heads, String activation, float eps) {
        this.attn = child("self_attn", new ClipAttention(vb.pp("self_attn"), hidden, heads));
        this.norm1 = child("layer_norm1", new LayerNorm(vb.pp("layer_norm1"), hidden, eps));
        this.mlp = child("mlp", new ClipMlp(vb.pp("mlp"), hidden, intermediate, activation));
        this.norm2 = child("layer_norm2", new LayerNorm(vb.pp("layer_norm2"), hidden, eps));
    }

    public Tensor forward(Tensor x, boolean causal) {
        Tensor h = x.add(attn.forward(norm1.forward(x), causal));
        return h.add(mlp.forward(norm2.forward(h)));
    }
}
