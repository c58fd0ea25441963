package io.texforce.clip.text;

import io.texforce.tensor.Tensor;
import io.texforce.tensor.nn.Checkpointing;
import io.texforce.tensor.nn.Module;
import io.texforce.tensor.nn.ModuleList;
import io.texforce.tensor.nn.VarBuilder;

import java.util.List;

/** The stack of encoder layers ({@code encoder.layers.N}). */
public final class ClipEncoder extends Module {
    private final ModuleList<ClipEncoderLayer> layers;
    private boolean gradientCheckpointing;

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
            ClipEncoderLayer layer = layers.get(i);
            h = Checkpointing.run(gradientCheckpointing, List.of(layer),
                    in -> new Tensor[]{layer.forward(in[0], causal)}, h)[0];
        }
        return h;
    }

    /**
     * Switches activation checkpointing of each layer on or off: with grad mode on, only the layer inputs stay
     * alive and each layer runs again during backward. Gradients are bit-identical either way.
     */
    public void setGradientCheckpointing(boolean enabled) {
        this.gradientCheckpointing = enabled;
    }

    public boolean gradientCheckpointing() {
        return gradientCheckpointing;
    }

    public int size() {
        return layers.size();
    }
}
