package io.texforce.unet.singlefile;

import io.texforce.unet.model.UNetConfig;

import java.util.List;

/**
 * Where the original (CompVis LDM) U-Net's modules sit in diffusers' {@code UNet2DConditionModel}, for any block
 * layout a {@link UNetConfig} describes: {@code input_blocks.k} counts the layers of every down block plus its
 * downsampler after {@code conv_in} at k = 0, {@code output_blocks.k} the layers of every up block, each with its
 * resnet at {@code .0}, its transformer at {@code .1} and the block's upsampler after them.
 */
final class LdmUNetLayout {
    private static final List<String[]> RESNET = List.of(
            new String[]{"in_layers.0.", "norm1."}, new String[]{"in_layers.2.", "conv1."},
            new String[]{"emb_layers.1.", "time_emb_proj."}, new String[]{"out_layers.0.", "norm2."},
            new String[]{"out_layers.3.", "conv2."}, new String[]{"skip_connection.", "conv_shortcut."});

    private LdmUNetLayout() {
    }

    static PrefixLayout of(UNetConfig c) {
        PrefixLayout l = new PrefixLayout();
        l.put("time_embed.0.", "time_embedding.linear_1.");
        l.put("time_embed.2.", "time_embedding.linear_2.");
        l.put("input_blocks.0.0.", "conv_in.");
        l.put("out.0.", "conv_norm_out.");
        l.put("out.2.", "conv_out.");
        int n = c.blocks();
        int k = 1;
        for (int b = 0; b < n; b++) {
            boolean attention = c.downBlockTypes().get(b).startsWith("CrossAttn");
            for (int i = 0; i < c.layersPerBlock()[b]; i++, k++) {
                l.put("input_blocks." + k + ".0.", "down_blocks." + b + ".resnets." + i + ".", RESNET, false);
                if (attention) {
                    l.put("input_blocks." + k + ".1.", "down_blocks." + b + ".attentions." + i + ".");
                }
            }
            if (b < n - 1) {
                l.put("input_blocks." + k + ".0.op.", "down_blocks." + b + ".downsamplers.0.conv.");
                k++;
            }
        }
        l.put("middle_block.0.", "mid_block.resnets.0.", RESNET, false);
        l.put("middle_block.1.", "mid_block.attentions.0.");
        l.put("middle_block.2.", "mid_block.resnets.1.", RESNET, false);
        k = 0;
        for (int u = 0; u < n; u++) {
            boolean attention = c.upBlockTypes().get(u).startsWith("CrossAttn");
            int layers = c.layersPerBlock()[n - 1 - u] + 1;
            for (int i = 0; i < layers; i++, k++) {
                l.put("output_blocks." + k + ".0.", "up_blocks." + u + ".resnets." + i + ".", RESNET, false);
                if (attention) {
                    l.put("output_blocks." + k + ".1.", "up_blocks." + u + ".attentions." + i + ".");
                }
                if (i == layers - 1 && u < n - 1) {
                    l.put("output_blocks." + k + "." + (attention ? 2 : 1) + ".conv.", "up_blocks." + u + ".upsamplers.0.conv.");
                }
            }
        }
        return l;
    }
}
