package io.texforce.unet.vae;

import io.texforce.tensor.Backend;
import io.texforce.tensor.Tensor;
import io.texforce.tensor.WeightDtype;
import io.texforce.tensor.cpu.CpuBackend;
import io.texforce.tensor.nn.Conv2d;
import io.texforce.tensor.nn.Module;
import io.texforce.tensor.nn.CheckpointSource;
import io.texforce.tensor.nn.VarBuilder;
import io.texforce.tensor.nn.WeightSource;

import io.texforce.tensor.io.ComponentFolder;

import java.nio.file.Path;
import java.util.List;

/**
 * Stable Diffusion's VAE, diffusers' {@code AutoencoderKL}: {@code encoder}, {@code quant_conv},
 * {@code post_quant_conv}, {@code decoder}. Latents the U-Net sees are the VAE's latents times
 * {@link VaeConfig#scalingFactor()}.
 */
public final class AutoencoderKL extends Module {
    private final VaeConfig config;
    private final Encoder encoder;
    private final Decoder decoder;
    private final Conv2d quantConv;
    private final Conv2d postQuantConv;

    public AutoencoderKL(VarBuilder vb, VaeConfig c) {
        this.config = c;
        this.encoder = child("encoder", new Encoder(vb.pp("encoder"), c));
        this.decoder = child("decoder", new Decoder(vb.pp("decoder"), c));
        int l = c.latentChannels();
        this.quantConv = c.useQuantConv()
                ? child("quant_conv", new Conv2d(vb.pp("quant_conv"), 2 * l, 2 * l, 1, 1, 0, true)) : null;
        this.postQuantConv = c.usePostQuantConv()
                ? child("post_quant_conv", new Conv2d(vb.pp("post_quant_conv"), l, l, 1, 1, 0, true)) : null;
    }

    public static AutoencoderKL load(Path dir) {
        return load(dir, CpuBackend.INSTANCE);
    }

    /** Loads {@code vae/} of a pipeline folder (or the vae folder itself). */
    public static AutoencoderKL load(Path dir, Backend backend) {
        return load(dir, backend, WeightDtype.FP32);
    }

    /** Loads with the Linear and Conv2d weights stored in {@code weightDtype} (norms and biases stay fp32). */
    public static AutoencoderKL load(Path dir, Backend backend, WeightDtype weightDtype) {
        return load(dir, backend, weightDtype, null);
    }

    /**
     * Loads the weights saved as {@code variant} ({@code "fp16"}, {@code "non_ema"}, ...; null: the plain weights,
     * or the only variant the folder holds), as {@code from_pretrained(..., variant=)} does; see
     * {@link io.texforce.tensor.io.ComponentWeights}.
     */
    public static AutoencoderKL load(Path dir, Backend backend, WeightDtype weightDtype, String variant) {
        ComponentFolder component = ComponentFolder.resolve(dir, "vae");
        Path folder = component.folder();
        VaeConfig c = VaeConfig.load(component.config());
        try (CheckpointSource src = CheckpointSource.openComponent(folder, "diffusion_pytorch_model", variant)) {
            VarBuilder vb = VarBuilder.of(src, backend, weightDtype);
            AutoencoderKL vae = new AutoencoderKL(vb, c);
            vb.checkAllUsed(k -> false);
            return vae;
        }
    }

    public static AutoencoderKL build(VaeConfig c, WeightSource source, Backend backend) {
        return build(c, source, backend, WeightDtype.FP32);
    }

    public static AutoencoderKL build(VaeConfig c, WeightSource source, Backend backend, WeightDtype weightDtype) {
        return new AutoencoderKL(VarBuilder.of(source, backend, weightDtype), c);
    }

    public VaeConfig config() {
        return config;
    }

    /** Decodes VAE latents (already divided by the scaling factor) to images in [-1, 1] (unclamped). */
    public Tensor decode(Tensor latents) {
        Tensor z = postQuantConv == null ? latents : postQuantConv.forward(latents);
        return decoder.forward(z);
    }

    /** The posterior of an image batch in [-1, 1]: mean and log-variance (clamped to [-30, 20]) of the latents. */
    public Posterior encode(Tensor images) {
        Tensor moments = encoder.forward(images);
        if (quantConv != null) {
            moments = quantConv.forward(moments);
        }
        List<Tensor> parts = moments.chunk(2, 1);
        return new Posterior(parts.get(0), parts.get(1).clamp(-30f, 20f));
    }

    /** A diagonal Gaussian over latents. */
    public record Posterior(Tensor mean, Tensor logVar) {
        public Tensor std() {
            return logVar.mul(0.5f).exp();
        }

        /** mean + std * noise, with noise of the mean's shape. */
        public Tensor sample(Tensor noise) {
            return mean.add(std().mul(noise));
        }

        public Tensor mode() {
            return mean;
        }
    }
}
