package io.texforce.cli;

import io.texforce.tensor.GradMode;
import io.texforce.tensor.Tensor;
import io.texforce.tensor.io.SafeTensors;
import io.texforce.tensor.io.SafeTensorsWriter;
import io.texforce.unet.vae.AutoencoderKL;
import picocli.CommandLine.Command;
import picocli.CommandLine.Mixin;
import picocli.CommandLine.Option;

import java.nio.file.Path;

/** {@code texforce decode}: VAE-decodes latents. */
@Command(name = "decode", mixinStandardHelpOptions = true,
        description = "Decode 'latents' [B,4,h,w] (as the U-Net sees them: the command divides by the VAE's "
                + "scaling_factor, as the pipeline does) to 'image' [B,3,8h,8w] in [-1,1].")
final class DecodeCommand implements Runnable {
    @Option(names = "--model", required = true, description = "Diffusers pipeline folder (or its vae/ folder).")
    Path model;

    @Mixin
    WeightOptions dtype;

    @Option(names = "--in", required = true, description = "Input .safetensors file with 'latents'.")
    Path in;

    @Option(names = "--out", required = true, description = "Output .safetensors file (written atomically).")
    Path out;

    @Mixin
    DeviceOption device;

    @Override
    public void run() {
        Tensor latents;
        try (SafeTensors st = SafeTensors.open(in)) {
            if (!st.contains("latents")) {
                throw new UserError(in + " has no tensor 'latents' (it has " + st.keys() + ")");
            }
            latents = st.tensor("latents");
        }
        AutoencoderKL vae = AutoencoderKL.load(ModelDir.component(model, "vae", "config.json"), dtype.activationsOn(device.backend()),
                dtype.value, dtype.variant);
        Tensor image;
        try (var g = GradMode.noGrad()) {
            image = vae.decode(latents.to(vae.backend()).div(vae.config().scalingFactor()));
        }
        new SafeTensorsWriter().put("image", image).write(out);
    }
}
