package io.texforce.unet.model;

import com.fasterxml.jackson.databind.ObjectMapper;
import com.fasterxml.jackson.databind.node.ObjectNode;
import io.texforce.tensor.TestData;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.CsvSource;

import java.io.IOException;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

/** Config fields that would change what diffusers computes are refused by name, never run as something else. */
class UNetConfigTest {
    private static ObjectNode sd15() throws IOException {
        return (ObjectNode) new ObjectMapper().readTree(TestData.configs().resolve("sd15/unet/config.json").toFile());
    }

    private static String refusal(ObjectNode n) {
        return assertThrows(IllegalArgumentException.class, () -> UNetConfig.fromJson(n, "unet/config.json"))
                .getMessage();
    }

    @ParameterizedTest
    @CsvSource(delimiter = '|', value = {
            "time_embedding_dim|1280", "time_embedding_act_fn|'\"silu\"'", "timestep_post_act|'\"silu\"'",
            "cross_attention_norm|'\"group_norm\"'", "reverse_transformer_layers_per_block|'[[1], [1], [1], [1]]'",
            "encoder_hid_dim_type|'\"text_proj\"'", "resnet_skip_time_act|true", "resnet_out_scale_factor|2.0",
            "attention_type|'\"gated\"'", "norm_num_groups|null", "mid_block_type|null",
            "mid_block_type|'\"UNetMidBlock2DSimpleCrossAttn\"'", "class_embed_type|'\"timestep\"'",
            "addition_embed_type|'\"text_time\"'", "transformer_layers_per_block|'[[1, 2], 1, 1, 1]'",
            "only_cross_attention|'[true, false]'", "layers_per_block|'[2, 2]'", "attention_head_dim|2.5"})
    void fieldsThatChangeTheModelAreRefusedByName(String field, String json) throws IOException {
        ObjectNode n = sd15();
        n.set(field, new ObjectMapper().readTree(json));
        String msg = refusal(n);
        System.out.println(field + " = " + json + ": " + msg);
        assertTrue(msg.contains(field) && msg.contains("unet/config.json"), msg);
    }

    @Test
    void defaultsWrittenOutByNewerDiffusersAreAccepted() throws IOException {
        ObjectNode n = sd15();
        ObjectMapper m = new ObjectMapper();
        for (String f : new String[]{"time_embedding_dim", "time_embedding_act_fn", "timestep_post_act",
                "cross_attention_norm", "reverse_transformer_layers_per_block", "encoder_hid_dim_type",
                "projection_class_embeddings_input_dim", "addition_time_embed_dim", "class_embed_type"}) {
            n.putNull(f);
        }
        n.put("resnet_skip_time_act", false);
        n.put("resnet_out_scale_factor", 1.0);
        n.put("attention_type", "default");
        n.set("transformer_layers_per_block", m.readTree("1"));
        UNetConfig c = UNetConfig.fromJson(n, "unet/config.json");
        assertArrayEquals(new int[]{8, 8, 8, 8}, c.numAttentionHeads());
        assertArrayEquals(new int[]{1, 1, 1, 1}, c.transformerLayersPerBlock());
    }
}
