package io.texforce.unet.pipeline;

import io.texforce.clip.text.ClipTextModel;
import io.texforce.tensor.Tensor;
import io.texforce.tensor.TestData;
import io.texforce.tensor.nn.Module;
import io.texforce.unet.model.UNet2DConditionModel;
import io.texforce.unet.vae.AutoencoderKL;
import org.junit.jupiter.api.Test;

import java.nio.file.Path;
import java.util.Map;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;

/**
 * Component folders holding PyTorch pickles, as transformers / diffusers write them with safe_serialization=False
 * (testdata/bin-weights, made by tools/interop/make_bin_fixture.py from testdata/single-file/tiny-sd1): the text
 * encoder's pytorch_model.bin, the U-Net in three .bin shards with their index, the VAE as an fp16 variant. Every
 * tensor must equal the safetensors folder's.
 */
class PickleWeightsTest {
    private static final Path BIN = TestData.root().resolve("bin-weights");
    private static final Path SAFE = TestData.root().resolve("single-file/tiny-sd1");

    private static void assertSameWeights(Module expected, Module actual) {
        Map<String, Tensor> e = expected.namedParameters();
        Map<String, Tensor> a = actual.namedParameters();
        assertEquals(e.keySet(), a.keySet());
        e.forEach((k, t) -> assertArrayEquals(t.toFloatArray(), a.get(k).toFloatArray(), 0f, k));
    }

    @Test
    void picklesLoadAsTheirSafetensorsTwins() {
        assertSameWeights(ClipTextModel.load(SAFE), ClipTextModel.load(BIN));
        assertSameWeights(UNet2DConditionModel.load(SAFE), UNet2DConditionModel.load(BIN));
        // the only weights of the VAE folder are the fp16 variant: picked without being asked for
        assertSameWeights(AutoencoderKL.load(SAFE), AutoencoderKL.load(BIN));
    }
}
