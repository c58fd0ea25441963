package io.texforce.cli;

import io.texforce.tensor.Tensor;
import io.texforce.tensor.io.SafeTensors;
import io.texforce.tensor.io.SafeTensorsWriter;
import io.texforce.unet.pipeline.GenerationRequest;
import io.texforce.unet.pipeline.GenerationResult;
import io.texforce.tensor.io.Images;
import io.texforce.unet.pipeline.StableDiffusionPipeline;
import picocli.CommandLine.Command;
import picocli.CommandLine.Mixin;
import picocli.CommandLine.Option;

import java.nio.file.Path;
import java.util.List;

/** {@code texforce generate}: text-to-image with optional text-encoder and U-Net LoRAs. */
@Command(name = "generate", mixinStandardHelpOptions = true,
        description = "Generate an image with DDIM and classifier-free guidance; LoRAs of the text encoder and the "
                + "U-Net can be fused and blended.")
final class GenerateCommand implements Runnable {
    @Option(names = "--model", required = true, description = "Diffusers pipeline folder.")
    Path model;

    @Mixin
    WeightOptions dtype;

    @Option(names = "--prompt", required = true, description = "The prompt.")
    String prompt;

    @Option(names = "--negative", defaultValue = "", description = "Negative prompt. Default: empty.")
    String negative;

    @Option(names = "--steps", defaultValue = "50", description = "DDIM steps. Default: ${DEFAULT-VALUE}.")
    int steps;

    @Option(names = "--guidance", defaultValue = "7.5", description = "Guidance scale. Default: ${DEFAULT-VALUE}.")
    float guidance;

    @Option(names = "--eta", defaultValue = "0", description = "DDIM eta. Default: ${DEFAULT-VALUE}.")
    float eta;

    @Option(names = "--seed", defaultValue = "0", description = "Noise seed (Philox). Default: ${DEFAULT-VALUE}.")
    long seed;

    @Option(names = "--latents", description = "Initial latents: tensor 'latents' [1,4,h,w] of a .safetensors file.")
    Path latents;

    @Option(names = {"--height"}, defaultValue = "0", description = "Height in pixels (default: the model's).")
    int height;

    @Option(names = {"--width"}, defaultValue = "0", description = "Width in pixels (default: the model's).")
    int width;

    @Option(names = "--clip-skip", defaultValue = "0", description = "Text-encoder layers to skip. Default: 0.")
    int clipSkip;

    @Mixin
    PipelineLoraOptions loras;

    @Option(names = "--out", required = true, description = "Output PNG.")
    Path out;

    @Option(names = "--save", description = "Also write 'latents' (final) and 'image' ([0,1], NCHW) to this .safetensors file.")
    Path save;

    @Mixin
    DeviceOption device;

    @Override
    public void run() {
        StableDiffusionPipeline pipe = StableDiffusionPipeline.load(model, dtype.activationsOn(device.backend()), dtype.value,
                dtype.variant);
        loras.attach(pipe);
        Tensor init = null;
        if (latents != null) {
            try (SafeTensors st = SafeTensors.open(latents)) {
                if (!st.contains("latents")) {
                    throw new UserError(latents + " has no tensor 'latents' (it has " + st.keys() + ")");
                }
                init = st.tensor("latents");
            }
        }
        GenerationRequest r = new GenerationRequest(List.of(prompt), negative, steps, guidance, eta, new long[]{seed},
                init, height, width, clipSkip);
        GenerationResult result = pipe.generate(r, (i, t, x, s) -> System.err.printf("\rstep %d/%d (t=%d)", i + 1, steps, t));
        System.err.println();
        Images.writePng(result.images(), out);
        if (save != null) {
            new SafeTensorsWriter().put("latents", result.latents()).put("image", result.images()).write(save);
        }
        System.err.println("wrote " + out + (save == null ? "" : " and " + save));
    }
}
