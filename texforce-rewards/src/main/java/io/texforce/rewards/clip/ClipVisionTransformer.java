package io.texforce.rewards.clip;

import io.texforce.clip.text.ClipEncoder;
import io.texforce.tensor.Tensor;
import io.texforce.tensor.nn.LayerNorm;
import io.texforce.tensor.nn.Module;
import io.texforce.tensor.nn.VarBuilder;

/**
 * CLIP's image tower as transformers' {@code CLIPVisionTransformer}: embeddings, {@code pre_layrnorm} (sic), a
 * non-causal encoder, and {@code post_layernorm} of the class token.
 */
public final class ClipVisionTransformer extends Module {
    private final ClipVisionEmbeddings embeddings;
    private final LayerNorm preNorm;
    private final ClipEncoder encoder;
    private final LayerNorm postNorm;

    public ClipVisionTransformer(VarBuilder vb, ClipVisionConfig c) {
        this.embeddings = child("embeddings", new ClipVisionEmbeddings(vb.pp("embeddings"), c));
        this.preNorm = child("pre_layrnorm", new LayerNorm(vb.pp("pre_layrnorm"), c.hiddenSize(), c.layerNormEps()));
        this.encoder = child("encoder", new ClipEncoder(vb.pp("encoder"), c.numHiddenLayers(), c.hiddenSize(),
                c.intermediateSize(), c.numAttentionHeads(), c.hiddenAct(), c.layerNormEps()));
        this.postNorm = child("post_layernorm", new LayerNorm(vb.pp("post_layernorm"), c.hiddenSize(),
                c.layerNormEps()));
    }

    /** The pooled output [B, hidden]: the class token after the last layer and {@code post_layernorm}. */
    public Tensor forward(Tensor pixels) {
        Tensor h = preNorm.forward(embeddings.forward(pixels));
        h = encoder.forward(h, encoder.size(), false);
        return postNorm.forward(h.select(1, 0));
    }
}
