package io.texforce.unet.model;

import io.texforce.tensor.GradMode;
import io.texforce.tensor.Parity;
import io.texforce.tensor.Tensor;
import io.texforce.tensor.TestData;
import io.texforce.tensor.io.SafeTensors;
import io.texforce.unet.pipeline.StableDiffusionPipeline;
import io.texforce.unet.vae.AutoencoderKL;
import org.junit.jupiter.api.Test;

import java.nio.file.Path;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

/**
 * Image sizes that are multiples of 8 but not of the U-Net's overall downsampling (SD 1.5 at 520 x 520: 65 x 65
 * latents), against diffusers on tiny-sd1 at 9 x 6 latents (testdata/odd-size, made by
 * tools/interop/make_odd_size_golden.py).
 */
class UNetOddSizeTest {
    private static final Path GOLDEN = TestData.root().resolve("odd-size/golden.safetensors");

    @Test
    void unetMatchesDiffusersWhenASkipIsOneLessThanTwiceTheSize() {
        UNet2DConditionModel unet = UNet2DConditionModel.load(TestData.tinySd1());
        try (SafeTensors g = SafeTensors.open(GOLDEN); var noGrad = GradMode.noGrad()) {
            Tensor out = unet.forward(g.tensor("unet.in.sample"), g.tensor("unet.in.timestep").toFloatArray(),
                    g.tensor("unet.in.encoder_hidden_states"));
            assertArrayEquals(new int[]{2, 4, 9, 6}, out.shape());
            double err = Parity.maxAbsDiff(out, g.tensor("unet.out.sample"));
            System.out.printf("odd-size unet.out.sample max abs error %.3e%n", err);
            assertTrue(err < 1e-4, "max abs error " + err);
        }
    }

    @Test
    void vaeDecodesOddLatentSizes() {
        AutoencoderKL vae = AutoencoderKL.load(TestData.tinySd1());
        try (SafeTensors g = SafeTensors.open(GOLDEN); var noGrad = GradMode.noGrad()) {
            Tensor image = vae.decode(g.tensor("vae.in.latents").div(vae.config().scalingFactor()));
            double err = Parity.maxAbsDiff(image, g.tensor("vae.out.image"));
            System.out.printf("odd-size vae.out.image max abs error %.3e%n", err);
            assertTrue(err < 1e-4, "max abs error " + err);
        }
    }

    @Test
    void gradientsReachEveryLatentRow() {
        UNet2DConditionModel unet = UNet2DConditionModel.load(TestData.tinySd1());
        try (SafeTensors g = SafeTensors.open(GOLDEN)) {
            Tensor x = g.tensor("unet.in.sample").requiresGrad(true);
            unet.forward(x, g.tensor("unet.in.timestep").toFloatArray(), g.tensor("unet.in.encoder_hidden_states"))
                    .square().sum().backward();
            float[] grad = x.grad().toFloatArray();
            // The last latent row is the one the cut upsampled map leaves out at the coarse level.
            double lastRow = 0;
            for (int n = 0; n < 2; n++) {
                for (int c = 0; c < 4; c++) {
                    for (int col = 0; col < 6; col++) {
                        lastRow += Math.abs(grad[((n * 4 + c) * 9 + 8) * 6 + col]);
                    }
                }
            }
            assertTrue(lastRow > 0 && Double.isFinite(lastRow), "gradient of the last row " + lastRow);
        }
    }

    /**
     * The shortcut taken for a 2n - 1 target: PyTorch's nearest interpolation to a size reads source row
     * {@code floor(j * (float) (n / (2n - 1)))}, which is {@code j / 2} for every j < 2n - 1 in float arithmetic
     * while n <= 2094 (float rounding first differs at n = 2095): coarse maps far beyond SD's resolutions.
     */
    @Test
    void nearestToOneLessThanTwiceIsDoublingCut() {
        for (int n = 1; n <= 2094; n++) {
            int out = 2 * n - 1;
            float scale = (float) n / out;
            for (int j = 0; j < out; j++) {
                int src = Math.min((int) Math.floor(j * scale), n - 1);
                assertEquals(j / 2, src, "n " + n + ", row " + j);
            }
        }
    }

    @Test
    void imageSizesMustBeMultiplesOfTheVaeFactor() {
        StableDiffusionPipeline pipe = StableDiffusionPipeline.load(TestData.tinySd1());
        int f = pipe.vaeScaleFactor();  // 2 for tiny-sd1's two-block VAE, 8 for SD
        assertArrayEquals(new int[]{9, 6}, pipe.latentSize(9 * f, 6 * f));
        assertArrayEquals(new int[]{16, 16}, pipe.latentSize(0, 0));  // sample_size 16
        var e = assertThrows(IllegalArgumentException.class, () -> pipe.latentSize(9 * f, 6 * f + 1));
        assertTrue(e.getMessage().contains("width " + (6 * f + 1)) && e.getMessage().contains("multiple of " + f),
                e.getMessage());
    }
}
