package io.texforce.unet.nn;

import io.texforce.tensor.Tensor;
import io.texforce.tensor.nn.Conv2d;
import io.texforce.tensor.nn.GroupNorm;
import io.texforce.tensor.nn.Linear;
import io.texforce.tensor.nn.Module;
import io.texforce.tensor.nn.ModuleList;
import io.texforce.tensor.nn.VarBuilder;

/**
 * diffusers' {@code Transformer2DModel} for continuous input: group norm, projection in (a 1x1 conv, or a linear
 * layer with {@code use_linear_projection} as in SD 2.x), transformer blocks over the H*W tokens, projection out,
 * residual.
 */
public final class Transformer2DModel extends Module {
    private final GroupNorm norm;
    private final Conv2d projInConv;
    private final Linear projInLinear;
    private final ModuleList<BasicTransformerBlock> blocks;
    private final Conv2d projOutConv;
    private final Linear projOutLinear;
    private final int inner;

    public Transformer2DModel(VarBuilder vb, int heads, int headDim, int inChannels, int layers, int groups,
                              int crossAttentionDim, boolean linearProjection, boolean onlyCrossAttention) {
        this.inner = heads * headDim;
        this.norm = child("norm", new GroupNorm(vb.pp("norm"), groups, inChannels, 1e-6f));
        if (linearProjection) {
            this.projInLinear = child("proj_in", new Linear(vb.pp("proj_in"), inChannels, inner, true));
            this.projInConv = null;
        } else {
            this.projInConv = child("proj_in", new Conv2d(vb.pp("proj_in"), inChannels, inner, 1, 1, 0, true));
            this.projInLinear = null;
        }
        this.blocks = child("transformer_blocks", new ModuleList<>());
        for (int i = 0; i < layers; i++) {
            blocks.add(new BasicTransformerBlock(vb.pp("transformer_blocks").pp(i), inner, heads, headDim,
                    crossAttentionDim, onlyCrossAttention));
        }
        if (linearProjection) {
            this.projOutLinear = child("proj_out", new Linear(vb.pp("proj_out"), inner, inChannels, true));
            this.projOutConv = null;
        } else {
            this.projOutConv = child("proj_out", new Conv2d(vb.pp("proj_out"), inner, inChannels, 1, 1, 0, true));
            this.projOutLinear = null;
        }
    }

    /** x [B, C, H, W], context [B, M, D] -> [B, C, H, W]. */
    public Tensor forward(Tensor x, Tensor context) {
        int b = x.size(0), c = x.size(1), h = x.size(2), w = x.size(3);
        Tensor t = norm.forward(x);
        if (projInConv != null) {
            t = projInConv.forward(t).permute(0, 2, 3, 1).reshape(b, h * w, inner);
        } else {
            t = projInLinear.forward(t.permute(0, 2, 3, 1).reshape(b, h * w, c));
        }
        for (BasicTransformerBlock block : blocks) {
            t = block.forward(t, context);
        }
        if (projOutConv != null) {
            t = projOutConv.forward(t.reshape(b, h, w, inner).permute(0, 3, 1, 2));
        } else {
            t = projOutLinear.forward(t).reshape(b, h, w, c).permute(0, 3, 1, 2);
        }
        return t.add(x);
    }
}
