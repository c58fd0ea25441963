package io.texforce.cli;

import io.texforce.tensor.lora.LoraNetwork;
import io.texforce.unet.pipeline.StableDiffusionPipeline;
import picocli.CommandLine.Option;

import java.util.ArrayList;
import java.util.List;

/** {@code --text-lora} and {@code --unet-lora} of the commands that run or save a whole pipeline. */
final class PipelineLoraOptions {
    @Option(names = "--text-lora", paramLabel = "FILE[:WEIGHT]", description = "Text-encoder LoRA (a file, or a peft"
            + " adapter folder) with its blend weight; repeatable.")
    List<String> text = new ArrayList<>();

    @Option(names = "--unet-lora", paramLabel = "FILE[:WEIGHT]", description = "U-Net LoRA with its blend weight;"
            + " repeatable.")
    List<String> unet = new ArrayList<>();

    boolean isEmpty() {
        return text.isEmpty() && unet.isEmpty();
    }

    /** Attaches every LoRA to {@code pipe} (adapters text0, text1, ..., unet0, ...) and returns them. */
    List<LoraNetwork> attach(StableDiffusionPipeline pipe) {
        List<LoraNetwork> out = new ArrayList<>(LoraSpec.attachAll(pipe.textEncoder(), text));
        out.addAll(LoraSpec.attachAll(pipe.unet(), unet));
        return out;
    }
}
