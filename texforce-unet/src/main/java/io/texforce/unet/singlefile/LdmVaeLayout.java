package io.texforce.unet.singlefile;

import io.texforce.unet.vae.VaeConfig;

import java.util.List;

/**
 * Where the original (CompVis LDM) autoencoder's modules sit in diffusers' {@code AutoencoderKL}: the decoder's
 * {@code up.i} is diffusers' {@code up_blocks.(n - 1 - i)}; the mid-block attention's 1x1-convolution q/k/v/proj_out
 * become linear {@code to_q}/{@code to_k}/{@code to_v}/{@code to_out.0}.
 */
final class LdmVaeLayout {
    private static final List<String[]> RESNET = List.<String[]>of(new String[]{"nin_shortcut.", "conv_shortcut."});
    private static final List<String[]> ATTENTION = List.of(
            new String[]{"norm.", "group_norm."}, new String[]{"q.", "to_q."}, new String[]{"k.", "to_k."},
            new String[]{"v.", "to_v."}, new String[]{"proj_out.", "to_out.0."});

    private LdmVaeLayout() {
    }

    static PrefixLayout of(VaeConfig c) {
        PrefixLayout l = new PrefixLayout();
        int n = c.blockOutChannels().length;
        for (String part : List.of("encoder", "decoder")) {
            l.put(part + ".conv_in.", part + ".conv_in.");
            l.put(part + ".conv_out.", part + ".conv_out.");
            l.put(part + ".norm_out.", part + ".conv_norm_out.");
            l.put(part + ".mid.block_1.", part + ".mid_block.resnets.0.", RESNET, false);
            l.put(part + ".mid.attn_1.", part + ".mid_block.attentions.0.", ATTENTION, true);
            l.put(part + ".mid.block_2.", part + ".mid_block.resnets.1.", RESNET, false);
        }
        for (int i = 0; i < n; i++) {
            for (int j = 0; j < c.layersPerBlock(); j++) {
                l.put("encoder.down." + i + ".block." + j + ".", "encoder.down_blocks." + i + ".resnets." + j + ".",
                        RESNET, false);
            }
            if (i < n - 1) {
                l.put("encoder.down." + i + ".downsample.conv.", "encoder.down_blocks." + i + ".downsamplers.0.conv.");
            }
            int u = n - 1 - i;
            for (int j = 0; j < c.layersPerBlock() + 1; j++) {
                l.put("decoder.up." + i + ".block." + j + ".", "decoder.up_blocks." + u + ".resnets." + j + ".",
                        RESNET, false);
            }
            if (i > 0) {
                l.put("decoder.up." + i + ".upsample.conv.", "decoder.up_blocks." + u + ".upsamplers.0.conv.");
            }
        }
        l.put("quant_conv.", "quant_conv.");
        l.put("post_quant_conv.", "post_quant_conv.");
        return l;
    }
}
