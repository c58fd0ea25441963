package io.texforce.clip.text;

import io.texforce.tensor.Tensor;
import io.texforce.tensor.nn.Module;
import io.texforce.tensor.nn.ModuleList;
import io.texforce.tensor.nn.VarBuilder;

/** The stack of encoder layers ({@code encoder.layers.N}). */
public final class ClipEncoder extends Module {
    private final ModuleList<ClipEncoderLayer> layers;

    public ClipEncoder(VarBuilder vb, ClipTextConfig c) {
        this(vb, c.numHiddenLayers(), c.hiddenSize(), c.intermediateSize(), c.numAttentionHeads(), c.hiddenAct(),
                c.layerNormEps());
    }

    /** {@code count} layers of any CLIP tower. */
    public ClipEncoder(VarBuilder vb, int count, int hidden, int intermediate, int heads, String activation, float eps) {
        this.layers = child("layers", new ModuleList<>());
        for (int i = 0; i < count; i++) {
            layers.add(new ClipEncoderLayer(vb.pp("layers").pp(i), hidden, intermediate, heads, activation, eps));
        }
    }

    /** Runs the first {@code count} layers. */
    public Tensor forward(Tensor x, int count, boolean causal) {
        Tensor h = x;
        for (int i = 0; i < count; i++) {
            h = layers.get(i).forward(h, causal);
        }
        return h;
    }

    public int size() {
        return layers.size();
    }
}
