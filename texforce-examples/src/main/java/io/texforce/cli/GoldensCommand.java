package io.texforce.cli;

import io.texforce.clip.text.ClipTextModel;
import io.texforce.cuda.CudaBackend;
import io.texforce.tensor.Backend;
import io.texforce.tensor.GradMode;
import io.texforce.tensor.Tensor;
import io.texforce.tensor.WeightDtype;
import io.texforce.tensor.io.SafeTensors;
import io.texforce.tensor.lora.LoraNetwork;
import io.texforce.unet.model.UNet2DConditionModel;
import io.texforce.unet.vae.AutoencoderKL;
import io.texforce.unet.pipeline.GenerationRequest;
import io.texforce.unet.pipeline.GenerationResult;
import io.texforce.unet.pipeline.StableDiffusionPipeline;
import picocli.CommandLine.Command;
import picocli.CommandLine.Mixin;
import picocli.CommandLine.Option;

import java.nio.file.Files;
import java.nio.file.Path;
import java.util.List;
import java.util.concurrent.Callable;
import java.util.function.Supplier;

/**
 * {@code texforce check-goldens}: the reference outputs of a fixture pipeline folder (its {@code golden/} tensors,
 * written by transformers/diffusers) recomputed on any device and weight dtype. This is how a GPU machine, which
 * has the bundle but no build tools, checks the whole models rather than single kernels.
 */
@Command(name = "check-goldens", mixinStandardHelpOptions = true,
        description = "Recompute the golden outputs of a fixture pipeline (text encoder, LoRAs, U-Net and its gradient,"
                + " VAE decode, the text-to-image loop) on --device with --dtype weights and compare; exits 1 if an"
                + " error exceeds its tolerance.")
final class GoldensCommand implements Callable<Integer> {
    @Option(names = "--model", defaultValue = "testdata/tiny-sd1",
            description = "Pipeline folder with golden/golden.safetensors. Default: ${DEFAULT-VALUE}.")
    Path model;

    @Mixin
    WeightOptions dtype;

    @Mixin
    DeviceOption device;

    /** Tolerances on the error relative to the golden's largest magnitude, per weight and activation dtype. */
    private record Tolerance(double model, double gradient, double pipeline) {
        static Tolerance of(WeightDtype d, WeightDtype activations) {
            Tolerance weights = of(d);
            if (!activations.isHalf()) {
                return weights;
            }
            // 16-bit activations (GPU) round every GEMM output and the kernels after it: the CUDA host emulator
            // measures about twice the errors of 16-bit weights alone on tiny-sd1 (bf16: U-Net 2.0e-2, its
            // gradient 2.8e-2, text encoder 1.3e-2; fp16: 2.8e-3, 3.9e-3, 1.5e-3); about 2.5x that margin.
            Tolerance act = activations == WeightDtype.BF16 ? new Tolerance(5e-2, 1e-1, 2e-1)
                    : new Tolerance(1e-2, 3e-2, 5e-2);
            return new Tolerance(Math.max(weights.model, act.model), Math.max(weights.gradient, act.gradient),
                    Math.max(weights.pipeline, act.pipeline));
        }

        private static Tolerance of(WeightDtype d) {
            return switch (d) {
                // fp32: the test suite's bounds (1e-4 absolute on outputs of magnitude ~1-5, gradients 1e-3).
                case FP32 -> new Tolerance(1e-4, 1e-3, 1e-4);
                // 16-bit weights: on the CPU the tiny-sd1 errors are 5e-4 (fp16) / 7e-3 (bf16) for the models and
                // 1e-2 for the gradient; a GPU also rounds the activations fed to 16-bit GEMMs, hence the margin.
                // The 4-step CFG-7.5 loop amplifies both.
                case FP16 -> new Tolerance(5e-3, 2e-2, 5e-2);
                case BF16 -> new Tolerance(3e-2, 6e-2, 1.5e-1);
            };
        }
    }

    private int failed;

    /** Exit status 0 when every golden is within tolerance, 1 otherwise (the table says which). */
    @Override
    public Integer call() {
        Path goldenFile = model.resolve("golden/golden.safetensors");
        if (!Files.isRegularFile(goldenFile)) {
            throw new UserError(model + " has no golden/golden.safetensors (a fixture folder such as testdata/tiny-sd1)");
        }
        Backend be = dtype.activationsOn(device.backend());
        Tolerance tol = Tolerance.of(dtype.value, be.activationDtype());
        System.out.printf("device %s, weights %s, activations %s%s%n", be.name(), dtype.value.cliName(),
                be.activationDtype().cliName(), be instanceof CudaBackend gpu
                        ? ", convolutions " + gpu.convAlgorithm().cliName() : "");
        System.out.printf("%-44s %12s %12s %10s  %s%n", "golden", "max error", "relative", "tolerance", "result");
        try (SafeTensors g = SafeTensors.open(goldenFile)) {
            textEncoder(g, be, tol);
            unet(g, be, tol);
            vae(g, be, tol);
            pipeline(g, be, tol);
        }
        System.out.printf("%s%n", failed == 0 ? "all goldens within tolerance" : failed + " golden(s) FAILED");
        return failed == 0 ? 0 : 1;
    }

    private void textEncoder(SafeTensors g, Backend be, Tolerance tol) {
        ClipTextModel text = ClipTextModel.load(model.resolve("text_encoder"), be, dtype.value, dtype.variant);
        int[][] ids = g.intRows("tokens.input_ids");
        compare(g, "text_encoder.last_hidden_state", tol.model(), () -> text.forward(ids));
        compare(g, "text_encoder.penultimate_normed", tol.model(), () -> text.forward(ids, 1));
        int[][] three = {ids[0], ids[1], ids[2]};
        LoraNetwork lora = text.loadLora(model.resolve("lora_text_encoder.safetensors"), "golden", 1f);
        compare(g, "lora.text_encoder.scale_1.0", tol.model(), () -> text.forward(three));
        lora.detach();
    }

    private void unet(SafeTensors g, Backend be, Tolerance tol) {
        UNet2DConditionModel unet = UNet2DConditionModel.load(model.resolve("unet"), be, dtype.value, dtype.variant);
        Tensor sample = g.tensor("unet.in.sample").to(be);
        Tensor context = g.tensor("unet.in.encoder_hidden_states").to(be);
        float[] t = g.tensor("unet.in.timestep").toFloatArray();
        compare(g, "unet.out.sample", tol.model(), () -> unet.forward(sample, t, context));
        Tensor weights = g.tensor("grad.unet.weights_r").to(be);
        compare(g, "grad.unet.d_encoder_hidden_states", tol.gradient(), () -> {
            Tensor ctx = context.detach().requiresGrad(true);
            unet.forward(sample, t, ctx).mul(weights).sum().backward();
            return ctx.grad();
        });
        LoraNetwork lora = unet.loadLora(model.resolve("lora_unet.safetensors"), "golden", 1f);
        compare(g, "lora.unet.out.sample", tol.model(), () -> unet.forward(sample, t, context));
        lora.detach();
    }

    private void vae(SafeTensors g, Backend be, Tolerance tol) {
        var vae = AutoencoderKL.load(model.resolve("vae"), be, dtype.value, dtype.variant);
        Tensor latents = g.tensor("vae.in.latents").to(be);
        // As the pipeline does: the golden's latents are in the U-Net's scale.
        compare(g, "vae.out.decoded", tol.model(), () -> vae.decode(latents.div(vae.config().scalingFactor())));
    }

    private void pipeline(SafeTensors g, Backend be, Tolerance tol) {
        StableDiffusionPipeline pipe = StableDiffusionPipeline.load(model, be, dtype.value, dtype.variant);
        // golden.json "pipeline": "a photo of a cat", negative "", 4 steps, CFG 7.5, eta 0, given latents.
        GenerationRequest r = GenerationRequest.of(List.of("a photo of a cat"), 0).withSteps(4).withGuidance(7.5f)
                .withEta(0f).withNegativePrompt("").withLatents(g.tensor("pipeline.in.latents"));
        var out = new GenerationResult[1];
        compare(g, "pipeline.out.latents", tol.pipeline(), () -> (out[0] = pipe.generate(r)).latents());
        compare(g, "pipeline.out.image", tol.pipeline(), () -> out[0].images());
    }

    /** Runs {@code actual} (without grad unless it builds its own graph) and prints its error against the golden. */
    private void compare(SafeTensors g, String key, double tolerance, Supplier<Tensor> actual) {
        Tensor want = g.tensor(key);
        Tensor got;
        if (key.startsWith("grad.")) {
            got = actual.get();
        } else {
            try (var ng = GradMode.noGrad()) {
                got = actual.get();
            }
        }
        float[] a = got.toFloatArray(), w = want.toFloatArray();
        if (a.length != w.length) {
            throw new IllegalStateException(key + ": got " + a.length + " values, the golden has " + w.length);
        }
        double err = 0, scale = 0;
        for (int i = 0; i < a.length; i++) {
            err = Math.max(err, Math.abs(a[i] - w[i]));
            scale = Math.max(scale, Math.abs(w[i]));
        }
        double relative = err / Math.max(scale, 1e-12);
        boolean ok = relative <= tolerance;
        if (!ok) {
            failed++;
        }
        System.out.printf("%-44s %12.3e %12.3e %10.1e  %s%n", key, err, relative, tolerance, ok ? "ok" : "FAIL");
    }
}
