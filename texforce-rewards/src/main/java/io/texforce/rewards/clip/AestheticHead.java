package io.texforce.rewards.clip;

import io.texforce.tensor.Backend;
import io.texforce.tensor.cpu.CpuBackend;
import io.texforce.tensor.io.torch.WeightFile;
import io.texforce.tensor.Tensor;
import io.texforce.tensor.nn.Linear;
import io.texforce.tensor.nn.Module;
import io.texforce.tensor.nn.ModuleList;
import io.texforce.tensor.nn.VarBuilder;
import io.texforce.tensor.nn.WeightSource;

import java.nio.file.Path;

/**
 * The LAION improved aesthetic predictor's MLP ({@code sac+logos+ava1-l14-linearMSE.pth}): Linear layers
 * embed->1024->128->64->16->1 stored as {@code layers.0/2/4/6/7}, with no activations between them (the
 * indices skipped are its dropout layers, off at inference). The input size is read from the weights.
 */
public final class AestheticHead extends Module {
    private static final int[] LAYER_INDICES = {0, 2, 4, 6, 7};
    private static final int[] WIDTHS = {1024, 128, 64, 16, 1};

    private final ModuleList<Linear> layers;

    public AestheticHead(VarBuilder vb) {
        int[] first = vb.pp("layers").pp(0).storedShape("weight");
        if (first == null || first.length != 2) {
            throw new IllegalArgumentException("no aesthetic head in " + vb.source().describe()
                    + ": expected layers.0.weight [1024, embed] and layers.2/4/6/7");
        }
        this.layers = child("layers", new ModuleList<>());
        int in = first[1];
        for (int i = 0; i < LAYER_INDICES.length; i++) {
            layers.add(new Linear(vb.pp("layers").pp(LAYER_INDICES[i]), in, WIDTHS[i], true));
            in = WIDTHS[i];
        }
    }

    /** Loads the head from a {@code .pth} or {@code .safetensors} file. */
    public static AestheticHead load(Path file) {
        return load(file, CpuBackend.INSTANCE);
    }

    /** As {@link #load(Path)}, with the weights on {@code backend}. */
    public static AestheticHead load(Path file, Backend backend) {
        try (WeightFile f = WeightFile.open(file)) {
            return fromWeights(f.source(), backend);
        }
    }

    public static AestheticHead fromWeights(WeightSource source) {
        return fromWeights(source, CpuBackend.INSTANCE);
    }

    /** The head from weights under its checkpoint's names, on {@code backend}. */
    public static AestheticHead fromWeights(WeightSource source, Backend backend) {
        VarBuilder vb = VarBuilder.of(source, backend);
        AestheticHead head = new AestheticHead(vb);
        vb.checkAllUsed(k -> false);
        return head;
    }

    /** The embedding size the head expects. */
    public int inputSize() {
        return layers.get(0).inFeatures();
    }

    /** Scores [B] of L2-normalised image embeddings [B, embed]. */
    public Tensor forward(Tensor normalizedEmbeds) {
        Tensor h = normalizedEmbeds;
        for (int i = 0; i < layers.size(); i++) {
            h = layers.get(i).forward(h);
        }
        return h.reshape(-1);
    }
}
