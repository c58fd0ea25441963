package io.texforce.clip.text;

import io.texforce.tensor.Tensor;
import io.texforce.tensor.nn.LayerNorm;
import io.texforce.tensor.nn.Module;
import io.texforce.tensor.nn.VarBuilder;

/** Embeddings, causal encoder and final layer norm: transformers' {@code CLIPTextTransformer}. */
public final class ClipTextTransformer extends Module {
    private final ClipTextEmbeddings embeddings;
    private final ClipEncoder encoder;
    private final LayerNorm finalNorm;

    public ClipTextTransformer(VarBuilder vb, ClipTextConfig c) {
        this.embeddings = child("embeddings", new ClipTextEmbeddings(vb.pp("embeddings"), c));
        this.encoder = child("encoder", new ClipEncoder(vb.pp("encoder"), c));
        this.finalNorm = child("final_layer_norm", new LayerNorm(vb.pp("final_layer_norm"), c.hiddenSize(),
                c.layerNormEps()));
    }

    /**
     * The final-layer-normed hidden state after all layers but the last {@code clipSkip} ([B, N, hidden]).
     * {@code clipSkip = 0} is {@code last_hidden_state}; 1 is diffusers' {@code clip_skip=1} (penultimate layer).
     */
    public Tensor forward(int[][] ids, int clipSkip) {
        if (clipSkip < 0 || clipSkip >= encoder.size()) {
            throw new IllegalArgumentException("clip skip " + clipSkip + " out of range for " + encoder.size() + " layers");
        }
        Tensor h = embeddings.forward(ids);
        h = encoder.forward(h, encoder.size() - clipSkip, true);
        return finalNorm.forward(h);
    }

    public ClipTextEmbeddings embeddings() {
        return embeddings;
    }

    public ClipEncoder encoder() {
        return encoder;
    }
}
