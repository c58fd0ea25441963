package io.texforce.examples;

import io.texforce.tensor.io.Images;
import io.texforce.unet.pipeline.GenerationRequest;
import io.texforce.unet.pipeline.StableDiffusionPipeline;

import java.nio.file.Path;
import java.util.List;

/**
 * Fuses a TexForce text-encoder LoRA with a U-Net LoRA from another method (ReFL, DPOK, AlignProp, DDPO) without
 * further training, and generates an image. Usage:
 * {@code GenerateWithFusedLoras MODEL_DIR TEXT_LORA UNET_LORA OUT.png [PROMPT]}.
 */
public final class GenerateWithFusedLoras {
    private GenerateWithFusedLoras() {
    }

    public static void main(String[] args) {
        StableDiffusionPipeline pipe = StableDiffusionPipeline.load(Path.of(args[0]));
        pipe.textEncoder().loadLora(Path.of(args[1]), "texforce", 1.0f);
        pipe.unet().loadLora(Path.of(args[2]), "unet-method", 1.0f);
        String prompt = args.length > 4 ? args[4] : "a photo of a cat";
        var result = pipe.generate(GenerationRequest.of(List.of(prompt), 42));
        Images.writePng(result.images(), Path.of(args[3]));
        System.out.println("wrote " + args[3]);
    }
}
