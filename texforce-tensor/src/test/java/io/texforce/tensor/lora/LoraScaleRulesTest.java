package io.texforce.tensor.lora;

import org.junit.jupiter.api.Test;

import java.nio.file.Path;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertNull;
import static org.junit.jupiter.api.Assertions.assertSame;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

/** The scale rules of diffusers' lora_adapter_metadata, as peft applies them. */
class LoraScaleRulesTest {
    static final Path FILE = Path.of("x.safetensors");

    @Test
    void noMetadataOrNoConfigForTheComponentMeansAlphaEqualsRank() {
        assertSame(LoraScaleRules.NONE, LoraScaleRules.parse(null, "unet", FILE));
        LoraScaleRules r = LoraScaleRules.parse("{\"text_encoder.r\":4,\"text_encoder.lora_alpha\":8}", "unet", FILE);
        assertSame(LoraScaleRules.NONE, r);
        assertNull(r.alphaFor("down_blocks.0.attentions.0.proj_in", 4));
    }

    @Test
    void alphaPatternFirstMatchWinsOnWholePathSegments() {
        String json = """
                {"unet.r": 4, "unet.lora_alpha": 8,
                 "unet.alpha_pattern": {"attn2\\\\.to_k": 2, "to_k": 3, "^mid_block\\\\..*": 5}}""";
        LoraScaleRules r = LoraScaleRules.parse(json, "unet", FILE);
        assertEquals(2f, r.alphaFor("down_blocks.0.attentions.0.transformer_blocks.0.attn2.to_k", 4));
        assertEquals(3f, r.alphaFor("down_blocks.0.attentions.0.transformer_blocks.0.attn1.to_k", 4));
        // "to_k" must end the path on a segment boundary: not "xto_k", not "to_k_extra"
        assertEquals(8f, r.alphaFor("down_blocks.0.xto_k", 4));
        assertEquals(8f, r.alphaFor("down_blocks.0.to_k_extra", 4));
        // "^" anchors at the start of the path
        assertEquals(5f, r.alphaFor("mid_block.attentions.0.proj_in", 4));
        assertEquals(8f, r.alphaFor("up_blocks.1.mid_block.attentions.0.proj_in", 4));
    }

    @Test
    void rsLoraStoresAlphaTimesSqrtRankSoThatAlphaOverRankIsPeftsScale() {
        LoraScaleRules r = LoraScaleRules.parse(
                "{\"unet.lora_alpha\": 3, \"unet.use_rslora\": true, \"unet.alpha_pattern\": {\"proj_in\": 1}}",
                "unet", FILE);
        float a = r.alphaFor("down_blocks.0.attentions.0.transformer_blocks.0.attn2.to_k", 4);
        assertEquals(3 / Math.sqrt(4), a / 4, 1e-7);
        float p = r.alphaFor("down_blocks.0.attentions.0.proj_in", 2);
        assertEquals(1 / Math.sqrt(2), p / 2, 1e-7);
    }

    @Test
    void configWithoutLoraAlphaGetsPeftsDefaultAndUnprefixedConfigsApplyToAnyComponent() {
        assertEquals(8f, LoraScaleRules.parse("{\"unet.r\": 4}", "unet", FILE).alphaFor("conv_in", 4));
        assertEquals(16f, LoraScaleRules.parse("{\"r\": 4, \"lora_alpha\": 16}", "text_encoder", FILE)
                .alphaFor("text_model.encoder.layers.0.self_attn.q_proj", 4));
    }

    @Test
    void badPatternsAndJsonNameTheFile() {
        var e = assertThrows(IllegalArgumentException.class,
                () -> LoraScaleRules.parse("{\"unet.lora_alpha\": 1, \"unet.alpha_pattern\": {\"to_k(\": 2}}", "unet", FILE));
        assertTrue(e.getMessage().contains("x.safetensors") && e.getMessage().contains("to_k("), e.getMessage());
        var e2 = assertThrows(IllegalArgumentException.class, () -> LoraScaleRules.parse("{oops", "unet", FILE));
        assertTrue(e2.getMessage().contains("x.safetensors"), e2.getMessage());
    }
}
