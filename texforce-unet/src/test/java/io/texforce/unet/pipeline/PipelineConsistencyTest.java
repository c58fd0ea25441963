package io.texforce.unet.pipeline;

import com.fasterxml.jackson.databind.ObjectMapper;
import com.fasterxml.jackson.databind.node.ObjectNode;
import io.texforce.tensor.TestData;
import io.texforce.tensor.cpu.CpuBackend;
import io.texforce.tensor.nn.RandomSource;
import io.texforce.unet.model.UNet2DConditionModel;
import io.texforce.unet.model.UNetConfig;
import org.junit.jupiter.api.Test;

import java.io.IOException;

import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

/** Models that cannot work together are refused when the pipeline is assembled, not deep inside a forward pass. */
class PipelineConsistencyTest {
    private static final StableDiffusionPipeline TINY = StableDiffusionPipeline.load(TestData.tinySd1());

    private static UNet2DConditionModel unet(String field, int value) throws IOException {
        ObjectNode n = (ObjectNode) new ObjectMapper().readTree(TestData.tinySd1().resolve("unet/config.json").toFile());
        n.put(field, value);
        return UNet2DConditionModel.build(UNetConfig.fromJson(n, "unet"), new RandomSource(0, 0.02f), CpuBackend.INSTANCE);
    }

    private static String refusal(UNet2DConditionModel unet) {
        return assertThrows(IllegalArgumentException.class, () -> new StableDiffusionPipeline(TINY.tokenizer(),
                TINY.textEncoder(), unet, TINY.vae(), TINY.scheduler())).getMessage();
    }

    @Test
    void anInpaintingUNetIsRefused() throws IOException {
        String msg = refusal(unet("in_channels", 9));
        System.out.println(msg);
        assertTrue(msg.contains("maps 9 to 4 channels") && msg.contains("latents have 4"), msg);
    }

    @Test
    void aUNetForAnotherTextEncoderIsRefused() throws IOException {
        String msg = refusal(unet("cross_attention_dim", 48));
        System.out.println(msg);
        assertTrue(msg.contains("32 wide") && msg.contains("takes 48"), msg);
    }

    @Test
    void aSingleFileCheckpointPointsToTheConversion() {
        var e = assertThrows(IllegalArgumentException.class, () -> StableDiffusionPipeline.load(
                TestData.root().resolve("single-file/tiny-sd1.safetensors")));
        assertTrue(e.getMessage().contains("convert --to-diffusers"), e.getMessage());
    }
}
