package io.texforce.rewards.clip;

import io.texforce.tensor.Shape;
import io.texforce.tensor.Tensor;
import io.texforce.tensor.nn.Conv2d;
import io.texforce.tensor.nn.Embedding;
import io.texforce.tensor.nn.Module;
import io.texforce.tensor.nn.VarBuilder;

import java.util.List;

/** Patch embedding (a strided convolution without bias), the class token, and learned positions. */
public final class ClipVisionEmbeddings extends Module {
    private final Conv2d patch;
    private final Tensor classEmbedding;
    private final Embedding position;
    private final ClipVisionConfig config;

    public ClipVisionEmbeddings(VarBuilder vb, ClipVisionConfig c) {
        this.config = c;
        this.patch = child("patch_embedding", new Conv2d(vb.pp("patch_embedding"), c.numChannels(), c.hiddenSize(),
                c.patchSize(), c.patchSize(), 0, false));
        this.classEmbedding = param("class_embedding", vb.get("class_embedding", c.hiddenSize()));
        this.position = child("position_embedding", new Embedding(vb.pp("position_embedding"), c.numPositions(),
                c.hiddenSize()));
    }

    /** pixels [B, C, S, S] with S the configured image size -> [B, 1 + patches, hidden]. */
    public Tensor forward(Tensor pixels) {
        int[] s = pixels.shape();
        if (s.length != 4 || s[1] != config.numChannels() || s[2] != config.imageSize() || s[3] != config.imageSize()) {
            throw new IllegalArgumentException("CLIP image tower expects pixel values [B, " + config.numChannels() + ", "
                    + config.imageSize() + ", " + config.imageSize() + "], got " + Shape.str(s));
        }
        int b = s[0], hidden = config.hiddenSize();
        Tensor patches = patch.forward(pixels).reshape(b, hidden, -1).permute(0, 2, 1);
        Tensor cls = classEmbedding.reshape(1, 1, hidden).expand(b, 1, hidden);
        Tensor tokens = Tensor.concat(List.of(cls, patches), 1);
        int[] ids = new int[config.numPositions()];
        for (int i = 0; i < ids.length; i++) {
            ids[i] = i;
        }
        return tokens.add(position.forward(ids));
    }
}
