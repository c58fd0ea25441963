package io.texforce.unet.vae;

import io.texforce.tensor.Tensor;
import io.texforce.tensor.nn.Conv2d;
import io.texforce.tensor.nn.GroupNorm;
import io.texforce.tensor.nn.Module;
import io.texforce.tensor.nn.ModuleDict;
import io.texforce.tensor.nn.ModuleList;
import io.texforce.tensor.nn.VarBuilder;
import io.texforce.unet.nn.Activations;
import io.texforce.unet.nn.ResnetBlock2D;
import io.texforce.unet.nn.Upsample2D;

import java.util.ArrayList;
import java.util.List;
import java.util.function.UnaryOperator;

/** The VAE decoder: latents [B, latent, h, w] to an image [B, 3, h*f, w*f] in [-1, 1] (not clamped). */
public final class Decoder extends Module {
    private final Conv2d convIn;
    private final UNetMidBlock2D mid;
    private final List<List<ResnetBlock2D>> blockResnets = new ArrayList<>();
    private final List<Upsample2D> upsamplers = new ArrayList<>();
    private final GroupNorm normOut;
    private final Conv2d convOut;
    private final UnaryOperator<Tensor> act;

    Decoder(VarBuilder vb, VaeConfig c) {
        int[] boc = c.blockOutChannels();
        int n = boc.length;
        this.convIn = child("conv_in", new Conv2d(vb.pp("conv_in"), c.latentChannels(), boc[n - 1], 3, 1, 1, true));
        this.mid = child("mid_block", new UNetMidBlock2D(vb.pp("mid_block"), boc[n - 1], c));
        ModuleList<ModuleDict> ups = child("up_blocks", new ModuleList<>());
        int out = boc[n - 1];
        for (int i = 0; i < n; i++) {
            int prev = out;
            out = boc[n - 1 - i];
            VarBuilder bvb = vb.pp("up_blocks").pp(i);
            ModuleDict block = new ModuleDict();
            ModuleList<ResnetBlock2D> resnets = block.put("resnets", new ModuleList<>());
            List<ResnetBlock2D> list = new ArrayList<>();
            for (int j = 0; j < c.layersPerBlock() + 1; j++) {
                ResnetBlock2D r = new ResnetBlock2D(bvb.pp("resnets").pp(j), j == 0 ? prev : out, out, 0,
                        c.normNumGroups(), 1e-6f, c.actFn(), 1f, false);
                resnets.add(r);
                list.add(r);
            }
            blockResnets.add(list);
            if (i < n - 1) {
                ModuleList<Upsample2D> us = block.put("upsamplers", new ModuleList<>());
                Upsample2D u = new Upsample2D(bvb.pp("upsamplers").pp(0), out);
                us.add(u);
                upsamplers.add(u);
            } else {
                upsamplers.add(null);
            }
            ups.add(block);
        }
        this.normOut = child("conv_norm_out", new GroupNorm(vb.pp("conv_norm_out"), c.normNumGroups(), boc[0], 1e-6f));
        this.convOut = child("conv_out", new Conv2d(vb.pp("conv_out"), boc[0], c.outChannels(), 3, 1, 1, true));
        this.act = Activations.of(c.actFn());
    }

    Tensor forward(Tensor z) {
        Tensor h = mid.forward(convIn.forward(z));
        for (int i = 0; i < blockResnets.size(); i++) {
            for (ResnetBlock2D r : blockResnets.get(i)) {
                h = r.forward(h, null);
            }
            if (upsamplers.get(i) != null) {
                h = upsamplers.get(i).forward(h, -1, -1);
            }
        }
        return convOut.forward(act.apply(normOut.forward(h)));
    }
}
