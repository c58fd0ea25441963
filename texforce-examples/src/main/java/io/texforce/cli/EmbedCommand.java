package io.texforce.cli;

import io.texforce.clip.text.ClipTextModel;
import io.texforce.clip.tokenizer.ClipTokenizer;
import io.texforce.tensor.GradMode;
import io.texforce.tensor.Tensor;
import io.texforce.tensor.io.SafeTensorsWriter;
import picocli.CommandLine.Command;
import picocli.CommandLine.Mixin;
import picocli.CommandLine.Option;
import picocli.CommandLine.Parameters;

import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;

/** {@code texforce embed}: text-encoder embeddings of prompts, optionally with blended LoRAs and clip skip. */
@Command(name = "embed", mixinStandardHelpOptions = true,
        description = "Encode prompts with the pipeline's CLIP text encoder and write tensor 'embeddings' "
                + "[prompts, 77, hidden] (float32) to a safetensors file.")
final class EmbedCommand implements Runnable {
    @Option(names = "--model", required = true, description = "Diffusers pipeline folder.")
    Path model;

    @Mixin
    WeightOptions dtype;

    @Option(names = "--lora", paramLabel = "FILE[:WEIGHT]",
            description = "Text-encoder LoRA (peft/diffusers, old diffusers or kohya layout) with its blend weight; "
                    + "repeat to blend several.")
    List<String> loras = new ArrayList<>();

    @Option(names = "--clip-skip", defaultValue = "0",
            description = "Use the hidden state this many layers before the last, through the final layer norm "
                    + "(diffusers' clip_skip). Default: ${DEFAULT-VALUE}.")
    int clipSkip;

    @Option(names = "--out", required = true, description = "Output .safetensors file (written atomically).")
    Path out;

    @Parameters(arity = "1..*", paramLabel = "PROMPT", description = "Prompts to encode.")
    List<String> prompts;

    @Mixin
    DeviceOption device;

    @Override
    public void run() {
        ClipTokenizer tok = ClipTokenizer.load(ModelDir.tokenizer(model));
        ClipTextModel encoder = ClipTextModel.load(ModelDir.component(model, "text_encoder", "config.json"),
                dtype.activationsOn(device.backend()), dtype.value, dtype.variant);
        LoraSpec.attachAll(encoder, loras);
        Tensor emb;
        try (var g = GradMode.noGrad()) {
            emb = encoder.forward(tok.tokenize(prompts), clipSkip);
        }
        new SafeTensorsWriter().put("embeddings", emb).write(out);
        System.err.printf("wrote embeddings %s to %s%n", java.util.Arrays.toString(emb.shape()), out);
    }
}
