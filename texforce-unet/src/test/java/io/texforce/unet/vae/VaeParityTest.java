package io.texforce.unet.vae;

import io.texforce.tensor.GradMode;
import io.texforce.tensor.Tensor;
import io.texforce.tensor.TestData;
import io.texforce.tensor.io.SafeTensors;
import org.junit.jupiter.api.Test;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

class VaeParityTest {

    @Test
    void decodeMatchesDiffusers() {
        AutoencoderKL vae = AutoencoderKL.load(TestData.tinySd1());
        try (SafeTensors g = SafeTensors.open(TestData.tinySd1().resolve("golden/golden.safetensors"));
             var ng = GradMode.noGrad()) {
            Tensor latents = g.tensor("vae.in.latents");
            Tensor img = vae.decode(latents.div(vae.config().scalingFactor()));
            Tensor want = g.tensor("vae.out.decoded");
            assertArrayEquals(want.shape(), img.shape());
            float[] a = img.toFloatArray(), b = want.toFloatArray();
            double err = 0;
            for (int i = 0; i < a.length; i++) {
                err = Math.max(err, Math.abs(a[i] - b[i]));
            }
            System.out.printf("vae.out.decoded max abs error %.3e%n", err);
            assertTrue(err < 1e-4, "max abs error " + err);
        }
    }

    @Test
    void encoderProducesLatentsOfTheRightShapeAndIsDifferentiable() {
        AutoencoderKL vae = AutoencoderKL.load(TestData.tinySd1());
        Tensor img = Tensor.zeros(1, 3, 32, 32).add(0.25f).requiresGrad(true);
        AutoencoderKL.Posterior p = vae.encode(img);
        assertArrayEquals(new int[]{1, 4, 16, 16}, p.mean().shape());
        p.mean().sum().backward();
        assertTrue(img.grad() != null && img.grad().abs().sum().item() > 0);
    }
}
