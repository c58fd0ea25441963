package io.texforce.unet.device;

import io.texforce.tensor.Backend;
import io.texforce.tensor.GradMode;
import io.texforce.tensor.Parity;
import io.texforce.tensor.Tensor;
import io.texforce.tensor.TestData;
import io.texforce.tensor.cpu.CpuBackend;
import io.texforce.tensor.foreign.ForeignBackend;
import io.texforce.tensor.io.SafeTensors;
import io.texforce.tensor.lora.LoraConfig;
import io.texforce.tensor.lora.LoraNetwork;
import io.texforce.unet.model.UNet2DConditionModel;
import io.texforce.unet.pipeline.GenerationRequest;
import io.texforce.unet.pipeline.GenerationResult;
import io.texforce.unet.pipeline.StableDiffusionPipeline;
import io.texforce.unet.vae.AutoencoderKL;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;

import java.util.ArrayList;
import java.util.List;
import java.util.Map;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

/**
 * The U-Net, the VAE and the whole pipeline on the foreign test backend (CPU kernels behind storage of its own):
 * any CPU-only path in model code fails here, and every result must equal the CPU's bit for bit.
 */
class ForeignBackendModelsTest {
    static final ForeignBackend F = ForeignBackend.INSTANCE;
    static SafeTensors golden;

    @BeforeAll
    static void open() {
        golden = SafeTensors.open(TestData.tinySd1().resolve("golden/golden.safetensors"));
    }

    @AfterAll
    static void close() {
        golden.close();
    }

    @Test
    void unetForwardAndBackwardWithLoraMatchTheCpu() {
        List<float[]> cpu = unetRun(CpuBackend.INSTANCE), dev = unetRun(F);
        String[] what = {"forward (golden input)", "forward with LoRA file", "d loss / d context",
                "d loss / d LoRA params"};
        for (int i = 0; i < cpu.size(); i++) {
            System.out.printf("U-Net on foreign, %s: max abs error vs cpu %.3e%n", what[i],
                    Parity.maxAbsDiff(dev.get(i), cpu.get(i)));
            assertArrayEquals(cpu.get(i), dev.get(i), what[i]);
        }
        double golden0 = Parity.maxAbsDiff(dev.get(0), golden.tensor("unet.out.sample").toFloatArray());
        double golden1 = Parity.maxAbsDiff(dev.get(1), golden.tensor("lora.unet.out.sample").toFloatArray());
        System.out.printf("U-Net on foreign vs diffusers: %.3e, with LoRA %.3e%n", golden0, golden1);
        assertTrue(golden0 < 1e-4 && golden1 < 1e-4, golden0 + " / " + golden1);
    }

    private static List<float[]> unetRun(Backend be) {
        UNet2DConditionModel unet = UNet2DConditionModel.load(TestData.tinySd1(), be);
        Tensor x = golden.tensor("unet.in.sample").to(be);
        Tensor ctx = golden.tensor("unet.in.encoder_hidden_states").to(be);
        float[] t = golden.tensor("unet.in.timestep").toFloatArray();
        List<float[]> out = new ArrayList<>();
        try (var g = GradMode.noGrad()) {
            out.add(unet.forward(x, t, ctx).toFloatArray());
            LoraNetwork file = unet.loadLora(TestData.tinySd1().resolve("lora_unet.safetensors"), "u", 1f);
            out.add(unet.forward(x, t, ctx).toFloatArray());
            file.detach();
        }
        LoraNetwork lora = unet.createLora("train", new LoraConfig(4, 4f, List.of("to_q", "to_k", "to_v", "to_out.0")),
                5);
        Tensor c = ctx.detach().requiresGrad(true);
        long reads = F.hostReads();
        unet.forward(x, t, c).square().mean().backward();
        if (be == F) {
            assertEquals(reads, F.hostReads(), "host reads inside the U-Net's forward and backward");
        }
        out.add(c.grad().toFloatArray());
        out.add(flatGrads(lora.parameters(), be));
        lora.detach();
        return out;
    }

    static float[] flatGrads(Map<String, Tensor> params, Backend be) {
        int n = params.values().stream().mapToInt(Tensor::numel).sum();
        float[] all = new float[n];
        int at = 0;
        for (var e : params.entrySet()) {
            Tensor g = e.getValue().grad();
            assertEquals(be, g.backend(), e.getKey());
            float[] gp = g.toFloatArray();
            System.arraycopy(gp, 0, all, at, gp.length);
            at += gp.length;
        }
        return all;
    }

    @Test
    void vaeDecodeMatchesTheCpu() {
        float[] cpu = decode(CpuBackend.INSTANCE), dev = decode(F);
        double vsGolden = Parity.maxAbsDiff(dev, golden.tensor("vae.out.decoded").toFloatArray());
        System.out.printf("VAE decode on foreign: max abs error vs cpu %.3e, vs diffusers %.3e%n",
                Parity.maxAbsDiff(dev, cpu), vsGolden);
        assertArrayEquals(cpu, dev);
        assertTrue(vsGolden < 1e-4, "vs golden " + vsGolden);
    }

    private static float[] decode(Backend be) {
        AutoencoderKL vae = AutoencoderKL.load(TestData.tinySd1(), be);
        try (var g = GradMode.noGrad()) {
            Tensor latents = golden.tensor("vae.in.latents").to(be);
            return vae.decode(latents.div(vae.config().scalingFactor())).toFloatArray();
        }
    }

    @Test
    void pipelineMatchesTheCpuWithSeededNoise() {
        // eta = 1 draws fresh noise every step, guidance > 1 runs the batched [uncond; cond] path.
        GenerationRequest r = new GenerationRequest(List.of("a cat", "a dog"), "ugly", 3, 5f, 1f, new long[]{11, 12},
                null, 0, 0, 0);
        GenerationResult cpu = StableDiffusionPipeline.load(TestData.tinySd1()).generate(r);
        StableDiffusionPipeline pipe = StableDiffusionPipeline.load(TestData.tinySd1(), F);
        assertEquals(F, pipe.backend());
        GenerationResult dev = pipe.generate(r);
        assertEquals(F, dev.images().backend());
        double latErr = Parity.maxAbsDiff(dev.latents(), cpu.latents());
        double imgErr = Parity.maxAbsDiff(dev.images(), cpu.images());
        System.out.printf("pipeline on foreign: latents max abs error vs cpu %.3e, images %.3e%n", latErr, imgErr);
        assertEquals(0.0, latErr);
        assertEquals(0.0, imgErr);

        // The golden run with given initial latents (on the CPU, as a caller would pass them).
        GenerationRequest golden0 = GenerationRequest.of(List.of("a photo of a cat"), 0).withSteps(4)
                .withGuidance(7.5f).withEta(0f).withNegativePrompt("").withLatents(golden.tensor("pipeline.in.latents"));
        double err = Parity.maxAbsDiff(pipe.generate(golden0).images(), golden.tensor("pipeline.out.image"));
        System.out.printf("pipeline on foreign vs diffusers: image max abs error %.3e%n", err);
        assertTrue(err < 1e-4, "image error " + err);
    }

    @Test
    void aPipelineOfModelsOnTwoBackendsIsRefused() {
        var p = StableDiffusionPipeline.load(TestData.tinySd1());
        IllegalArgumentException e = assertThrows(IllegalArgumentException.class, () -> new StableDiffusionPipeline(
                p.tokenizer(), p.textEncoder(), UNet2DConditionModel.load(TestData.tinySd1(), F), p.vae(), p.scheduler()));
        assertEquals("pipeline models on different backends: text encoder on cpu, U-Net on foreign, VAE on cpu",
                e.getMessage());
    }
}
