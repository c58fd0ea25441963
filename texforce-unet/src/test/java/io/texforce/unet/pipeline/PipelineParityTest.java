package io.texforce.unet.pipeline;

import io.texforce.tensor.Tensor;
import io.texforce.tensor.Parity;
import io.texforce.tensor.TestData;
import io.texforce.tensor.io.Images;
import io.texforce.tensor.io.SafeTensors;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

import javax.imageio.ImageIO;
import java.awt.image.BufferedImage;
import java.nio.file.Path;
import java.util.List;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

/** The whole text-to-image loop against diffusers' StableDiffusionPipeline + DDIMScheduler. */
class PipelineParityTest {
    @TempDir
    Path tmp;

    static double maxAbs(Tensor a, Tensor b) {
        return Parity.maxAbsDiff(a, b);
    }

    @Test
    void textToImageMatchesDiffusers() throws Exception {
        StableDiffusionPipeline pipe = StableDiffusionPipeline.load(TestData.tinySd1());
        try (SafeTensors g = SafeTensors.open(TestData.tinySd1().resolve("golden/golden.safetensors"))) {
            // golden.json "pipeline": "a photo of a cat", negative "", 4 steps, CFG 7.5, eta 0.
            GenerationRequest r = GenerationRequest.of(List.of("a photo of a cat"), 0).withSteps(4).withGuidance(7.5f)
                    .withEta(0f).withNegativePrompt("").withLatents(g.tensor("pipeline.in.latents"));
            int[] seen = {0};
            GenerationResult out = pipe.generate(r, (i, t, x, s) -> seen[0]++);
            assertEquals(4, seen[0]);
            double latErr = maxAbs(out.latents(), g.tensor("pipeline.out.latents"));
            double imgErr = maxAbs(out.images(), g.tensor("pipeline.out.image"));
            System.out.printf("pipeline.out.latents max abs error %.3e, pipeline.out.image %.3e%n", latErr, imgErr);
            assertTrue(latErr < 1e-4, "latents max abs error " + latErr);
            assertTrue(imgErr < 1e-4, "image max abs error " + imgErr);

            Path png = tmp.resolve("cat.png");
            Images.writePng(out.images(), png);
            BufferedImage img = ImageIO.read(png.toFile());
            assertEquals(32, img.getWidth());
            Tensor back = Images.fromImage(img);
            assertTrue(maxAbs(back, out.images().select(0, 0)) <= 0.5 / 255 + 1e-6, "PNG quantisation");
        }
    }

    @Test
    void seededGenerationIsReproducibleAndIndependentOfTheBatch() {
        StableDiffusionPipeline pipe = StableDiffusionPipeline.load(TestData.tinySd1());
        GenerationRequest two = new GenerationRequest(List.of("a cat", "a dog"), "", 3, 5f, 1f, new long[]{11, 12},
                null, 0, 0, 0);
        GenerationRequest one = new GenerationRequest(List.of("a dog"), "", 3, 5f, 1f, new long[]{12}, null, 0, 0, 0);
        Tensor batch = pipe.generate(two).latents();
        Tensor single = pipe.generate(one).latents();
        // Same noise; only the summation order of batched kernels differs (amplified by CFG).
        assertEquals(0.0, maxAbs(batch.narrow(0, 1, 1), single), 1e-4);
        assertEquals(0.0, maxAbs(pipe.generate(one).latents(), single), 0.0);
    }
}
