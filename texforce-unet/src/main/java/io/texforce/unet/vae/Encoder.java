package io.texforce.unet.vae;

import io.texforce.tensor.Tensor;
import io.texforce.tensor.nn.Conv2d;
import io.texforce.tensor.nn.GroupNorm;
import io.texforce.tensor.nn.Module;
import io.texforce.tensor.nn.ModuleDict;
import io.texforce.tensor.nn.ModuleList;
import io.texforce.tensor.nn.VarBuilder;
import io.texforce.unet.nn.Activations;
import io.texforce.unet.nn.Downsample2D;
import io.texforce.unet.nn.ResnetBlock2D;

import java.util.ArrayList;
import java.util.List;
import java.util.function.UnaryOperator;

/** The VAE encoder: image [B, 3, H, W] to the moments [B, 2 * latent, H/f, W/f] (mean and log-variance). */
public final class Encoder extends Module {
    private final Conv2d convIn;
    private final List<List<ResnetBlock2D>> blockResnets = new ArrayList<>();
    private final List<Downsample2D> downsamplers = new ArrayList<>();
    private final UNetMidBlock2D mid;
    private final GroupNorm normOut;
    private final Conv2d convOut;
    private final UnaryOperator<Tensor> act;

    Encoder(VarBuilder vb, VaeConfig c) {
        int[] boc = c.blockOutChannels();
        this.convIn = child("conv_in", new Conv2d(vb.pp("conv_in"), c.inChannels(), boc[0], 3, 1, 1, true));
        ModuleList<ModuleDict> downs = child("down_blocks", new ModuleList<>());
        int out = boc[0];
        for (int i = 0; i < boc.length; i++) {
            int in = out;
            out = boc[i];
            VarBuilder bvb = vb.pp("down_blocks").pp(i);
            ModuleDict block = new ModuleDict();
            ModuleList<ResnetBlock2D> resnets = block.put("resnets", new ModuleList<>());
            List<ResnetBlock2D> list = new ArrayList<>();
            for (int j = 0; j < c.layersPerBlock(); j++) {
                ResnetBlock2D r = new ResnetBlock2D(bvb.pp("resnets").pp(j), j == 0 ? in : out, out, 0,
                        c.normNumGroups(), 1e-6f, c.actFn(), 1f, false);
                resnets.add(r);
                list.add(r);
            }
            blockResnets.add(list);
            if (i < boc.length - 1) {
                ModuleList<Downsample2D> ds = block.put("downsamplers", new ModuleList<>());
                Downsample2D d = new Downsample2D(bvb.pp("downsamplers").pp(0), out, 0);
                ds.add(d);
                downsamplers.add(d);
            } else {
                downsamplers.add(null);
            }
            downs.add(block);
        }
        int last = boc[boc.length - 1];
        this.mid = child("mid_block", new UNetMidBlock2D(vb.pp("mid_block"), last, c));
        this.normOut = child("conv_norm_out", new GroupNorm(vb.pp("conv_norm_out"), c.normNumGroups(), last, 1e-6f));
        this.convOut = child("conv_out", new Conv2d(vb.pp("conv_out"), last, 2 * c.latentChannels(), 3, 1, 1, true));
        this.act = Activations.of(c.actFn());
    }

    Tensor forward(Tensor x) {
        Tensor h = convIn.forward(x);
        for (int i = 0; i < blockResnets.size(); i++) {
            for (ResnetBlock2D r : blockResnets.get(i)) {
                h = r.forward(h, null);
            }
            if (downsamplers.get(i) != null) {
                h = downsamplers.get(i).forward(h);
            }
        }
        h = mid.forward(h);
        return convOut.forward(act.apply(normOut.forward(h)));
    }
}
