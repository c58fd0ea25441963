package io.texforce.unet.pipeline;

import io.texforce.clip.text.ClipTextModel;
import io.texforce.clip.tokenizer.ClipTokenizer;
import io.texforce.tensor.Backend;
import io.texforce.tensor.GradMode;
import io.texforce.tensor.cpu.CpuBackend;
import io.texforce.tensor.Tensor;
import io.texforce.tensor.WeightDtype;
import io.texforce.tensor.cpu.CpuBackend;
import io.texforce.tensor.random.Generator;
import io.texforce.unet.model.UNet2DConditionModel;
import io.texforce.unet.scheduler.DdimScheduler;
import io.texforce.unet.scheduler.StepResult;
import io.texforce.unet.vae.AutoencoderKL;

import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;

/**
 * Text-to-image with Stable Diffusion, as diffusers' {@code StableDiffusionPipeline} with a DDIM scheduler:
 * prompts and a negative prompt are encoded, classifier-free guidance runs the U-Net on the batch
 * [negative, positive], the DDIM loop denoises, and the VAE decodes to images in [0, 1].
 *
 * <p>Noise is drawn per image from a Philox {@link Generator} seeded with that image's seed (initial latents
 * first, then one draw per step when eta > 0), so an image does not depend on the batch it was generated in.
 * Noise is drawn on the models' backend, and the numbers are the same on every backend.
 */
public final class StableDiffusionPipeline {
    private final ClipTokenizer tokenizer;
    private final ClipTextModel textEncoder;
    private final UNet2DConditionModel unet;
    private final AutoencoderKL vae;
    private final DdimScheduler scheduler;
    private final Backend backend;

    /** The three models must live on one backend, which becomes the pipeline's. */
    public StableDiffusionPipeline(ClipTokenizer tokenizer, ClipTextModel textEncoder, UNet2DConditionModel unet,
                                   AutoencoderKL vae, DdimScheduler scheduler) {
        this.tokenizer = tokenizer;
        this.textEncoder = textEncoder;
        this.unet = unet;
        this.vae = vae;
        this.scheduler = scheduler;
        this.backend = unet.backend();
        if (textEncoder.backend() != backend || vae.backend() != backend) {
            throw new IllegalArgumentException("pipeline models on different backends: text encoder on "
                    + textEncoder.backend().name() + ", U-Net on " + backend.name() + ", VAE on " + vae.backend().name());
        }
        int latent = vae.config().latentChannels();
        if (unet.config().inChannels() != latent || unet.config().outChannels() != latent) {
            throw new IllegalArgumentException("the U-Net maps " + unet.config().inChannels() + " to "
                    + unet.config().outChannels() + " channels but the VAE's latents have " + latent
                    + " (an inpainting or depth U-Net? only text-to-image pipelines are run)");
        }
        int width = textEncoder.config().hiddenSize();
        for (int d : unet.config().crossAttentionDim()) {
            if (d != width) {
                throw new IllegalArgumentException("the text encoder's outputs are " + width + " wide but the U-Net's"
                        + " cross-attention takes " + d + " (text encoder and U-Net of different models?)");
            }
        }
    }

    /** Loads every component of a diffusers pipeline folder onto the CPU (the scheduler config is read as DDIM's). */
    public static StableDiffusionPipeline load(Path dir) {
        return load(dir, CpuBackend.INSTANCE, WeightDtype.FP32);
    }

    /** Loads every component of a diffusers pipeline folder onto {@code backend}, weights in fp32. */
    public static StableDiffusionPipeline load(Path dir, Backend backend) {
        return load(dir, backend, WeightDtype.FP32);
    }

    /** Loads the pipeline onto the CPU with its frozen layer weights in {@code weightDtype}. */
    public static StableDiffusionPipeline load(Path dir, WeightDtype weightDtype) {
        return load(dir, CpuBackend.INSTANCE, weightDtype);
    }

    /**
     * Loads every component of a diffusers pipeline folder onto {@code backend}, with the frozen layer weights of
     * the text encoder, U-Net and VAE stored in {@code weightDtype} (see {@link WeightDtype}); LoRA adapters
     * attached later are fp32.
     */
    public static StableDiffusionPipeline load(Path dir, Backend backend, WeightDtype weightDtype) {
        return load(dir, backend, weightDtype, null);
    }

    /**
     * Loads the pipeline with each model's weights saved as {@code variant} ({@code "fp16"}, {@code "non_ema"};
     * null: the plain weights, or a component's only variant), as diffusers' {@code from_pretrained(...,
     * variant=)}: a component without that variant loads its plain weights, with a warning.
     */
    public static StableDiffusionPipeline load(Path dir, Backend backend, WeightDtype weightDtype, String variant) {
        if (Files.isRegularFile(dir)) {
            throw new IllegalArgumentException(dir + " is a file, not a diffusers pipeline folder; a single-file"
                    + " checkpoint is converted once with: texforce convert --to-diffusers " + dir + " <folder>"
                    + " (SingleFileConverter in Java)");
        }
        for (String c : List.of("tokenizer", "text_encoder", "unet", "vae", "scheduler")) {
            if (!Files.isDirectory(dir.resolve(c))) {
                throw new IllegalArgumentException(dir + " has no " + c + "/ folder (expected a diffusers pipeline folder)");
            }
        }
        return new StableDiffusionPipeline(
                ClipTokenizer.load(dir.resolve("tokenizer")),
                ClipTextModel.load(dir.resolve("text_encoder"), backend, weightDtype, variant),
                UNet2DConditionModel.load(dir.resolve("unet"), backend, weightDtype, variant),
                AutoencoderKL.load(dir.resolve("vae"), backend, weightDtype, variant),
                DdimScheduler.load(dir.resolve("scheduler/scheduler_config.json")));
    }

    public ClipTokenizer tokenizer() {
        return tokenizer;
    }

    public ClipTextModel textEncoder() {
        return textEncoder;
    }

    public UNet2DConditionModel unet() {
        return unet;
    }

    public AutoencoderKL vae() {
        return vae;
    }

    public DdimScheduler scheduler() {
        return scheduler;
    }

    /** Where the models, latents and images live. */
    public Backend backend() {
        return backend;
    }

    /** The VAE's spatial downsampling factor (8 for SD). */
    public int vaeScaleFactor() {
        return 1 << (vae.config().blockOutChannels().length - 1);
    }

    /**
     * The latent height and width {h, w} for images of {@code height x width} pixels (0: the U-Net's
     * {@code sample_size} times the VAE factor, 512 for SD 1.5). Any multiple of the VAE factor (8) works, as in
     * diffusers; other sizes are refused rather than silently rounded down.
     */
    public int[] latentSize(int height, int width) {
        int f = vaeScaleFactor();
        int[] out = new int[2];
        String[] names = {"height", "width"};
        int[] px = {height, width};
        for (int i = 0; i < 2; i++) {
            int v = px[i] > 0 ? px[i] : unet.config().sampleSize() * f;
            if (px[i] < 0 || v % f != 0) {
                throw new IllegalArgumentException("image " + names[i] + " " + px[i] + " is not a positive multiple of "
                        + f + " (the VAE's scale factor)");
            }
            out[i] = v / f;
        }
        return out;
    }

    /** Text embeddings [B, 77, D] of the prompts (differentiable when grad mode is on and adapters train). */
    public Tensor encodePrompts(List<String> prompts, int clipSkip) {
        return textEncoder.forward(tokenizer.tokenize(prompts), clipSkip);
    }

    /**
     * The guided model output for latents [B, C, h, w] at timestep t: with guidance > 1 the U-Net runs once on
     * [uncond; cond] and returns {@code uncond + g * (cond - uncond)}; otherwise it runs on cond alone.
     * {@code uncond} may hold one row for the whole batch.
     */
    public Tensor predictNoise(Tensor latents, float[] timesteps, Tensor cond, Tensor uncond, float guidance) {
        int b = latents.size(0);
        if (guidance <= 1f) {
            return unet.forward(latents, timesteps, cond);
        }
        Tensor u = uncond.size(0) == b ? uncond : uncond.expand(b, uncond.size(1), uncond.size(2));
        float[] t2 = new float[2 * b];
        for (int i = 0; i < 2 * b; i++) {
            t2[i] = timesteps.length == 1 ? timesteps[0] : timesteps[i % b];
        }
        Tensor out = unet.forward(Tensor.concat(List.of(latents, latents), 0), t2, Tensor.concat(List.of(u, cond), 0));
        Tensor uncondOut = out.narrow(0, 0, b), condOut = out.narrow(0, b, b);
        return uncondOut.add(condOut.sub(uncondOut).mul(guidance));
    }

    /** Decodes latents (as the U-Net sees them) to images [B, 3, H, W] in [0, 1]. */
    public Tensor decode(Tensor latents) {
        Tensor img = vae.decode(latents.div(vae.config().scalingFactor()));
        return img.div(2f).add(0.5f).clamp(0f, 1f);
    }

    /** Seeded initial latents [B, 4, h, w], one generator per image (the generators then continue for eta noise). */
    public Tensor initialLatents(GenerationRequest r, List<Generator> generators) {
        int[] hw = latentSize(r.height(), r.width());
        List<Tensor> parts = new ArrayList<>();
        for (Generator g : generators) {
            parts.add(g.randn(backend, 1, unet.config().inChannels(), hw[0], hw[1]));
        }
        return Tensor.concat(parts, 0).mul(scheduler.initNoiseSigma());
    }

    public GenerationResult generate(GenerationRequest r) {
        return generate(r, null);
    }

    /** Runs the full text-to-image loop without recording gradients. */
    public GenerationResult generate(GenerationRequest r, StepListener listener) {
        try (var g = GradMode.noGrad()) {
            int b = r.prompts().size();
            List<Generator> gens = new ArrayList<>();
            for (int i = 0; i < b; i++) {
                gens.add(new Generator(r.seed(i)));
            }
            Tensor latents = r.latents() != null ? r.latents().to(backend) : initialLatents(r, gens);
            if (latents.size(0) != b) {
                throw new IllegalArgumentException("initial latents of shape " + java.util.Arrays.toString(latents.shape())
                        + " for " + b + " prompts");
            }
            Tensor cond = encodePrompts(r.prompts(), r.clipSkip());
            Tensor uncond = r.guidanceScale() > 1f ? encodePrompts(List.of(r.negativePrompt()), r.clipSkip()) : null;
            int[] ts = scheduler.timesteps(r.steps());
            for (int i = 0; i < ts.length; i++) {
                Tensor input = scheduler.scaleModelInput(latents, ts[i]);
                Tensor eps = predictNoise(input, new float[]{ts[i]}, cond, uncond, r.guidanceScale());
                Tensor noise = r.eta() > 0 ? noise(gens, latents.shape()) : null;
                StepResult step = scheduler.step(eps, ts[i], latents, r.eta(), noise, r.steps());
                if (listener != null) {
                    listener.onStep(i, ts[i], latents, step);
                }
                latents = step.prevSample();
            }
            return new GenerationResult(latents, decode(latents));
        }
    }

    private Tensor noise(List<Generator> gens, int[] shape) {
        List<Tensor> parts = new ArrayList<>();
        for (Generator g : gens) {
            parts.add(g.randn(backend, 1, shape[1], shape[2], shape[3]));
        }
        return Tensor.concat(parts, 0);
    }
}
