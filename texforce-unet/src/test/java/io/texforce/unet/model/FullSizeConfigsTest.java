package io.texforce.unet.model;

import io.texforce.clip.text.ClipTextConfig;
import io.texforce.clip.text.ClipTextModel;
import io.texforce.tensor.GradMode;
import io.texforce.tensor.Tensor;
import io.texforce.tensor.TestData;
import io.texforce.tensor.cpu.CpuBackend;
import io.texforce.tensor.nn.RandomSource;
import io.texforce.tensor.nn.VarBuilder;
import io.texforce.unet.vae.AutoencoderKL;
import io.texforce.unet.vae.VaeConfig;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.CsvSource;

import java.nio.file.Path;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;

/**
 * The real SD 1.5 and SD 2.1 configs build modules with exactly diffusers' / transformers' parameter counts
 * (so every per-block field is read as diffusers reads it), and the SD 2.1 U-Net (linear projections, 64-dim
 * heads, 1024-dim context) runs.
 */
class FullSizeConfigsTest {

    @ParameterizedTest
    @CsvSource({"sd15, 859.52, 83.65, 123.06, 768", "sd21, 865.91, 83.65, 340.39, 1024"})
    void parameterCountsMatchTheReference(String name, double unetM, double vaeM, double textM, int ctx) {
        Path dir = TestData.configs().resolve(name);
        RandomSource zeros = new RandomSource(0, 0f);
        UNetConfig uc = UNetConfig.load(dir.resolve("unet/config.json"));
        UNet2DConditionModel unet = UNet2DConditionModel.build(uc, zeros, CpuBackend.INSTANCE);
        assertEquals(unetM, unet.parameterCount() / 1e6, 0.005, "U-Net parameters (millions)");
        assertEquals(ctx, uc.crossAttentionDim()[0]);
        if (name.equals("sd21")) {
            try (var g = GradMode.noGrad()) {
                Tensor out = unet.forward(Tensor.zeros(1, 4, 8, 8), new float[]{10}, Tensor.zeros(1, 77, ctx));
                assertArrayEquals(new int[]{1, 4, 8, 8}, out.shape());
            }
        }
        unet = null;
        AutoencoderKL vae = AutoencoderKL.build(VaeConfig.load(dir.resolve("vae/config.json")), zeros, CpuBackend.INSTANCE);
        assertEquals(vaeM, vae.parameterCount() / 1e6, 0.005, "VAE parameters (millions)");
        ClipTextModel te = new ClipTextModel(VarBuilder.of(zeros),
                ClipTextConfig.load(dir.resolve("text_encoder/config.json")));
        assertEquals(textM, te.parameterCount() / 1e6, 0.005, "text encoder parameters (millions)");
    }
}
