package io.texforce.cli;

import io.texforce.tensor.WeightDtype;
import io.texforce.tensor.cpu.CpuBackend;
import io.texforce.tensor.io.DType;
import io.texforce.tensor.lora.LoraNetwork;
import io.texforce.unet.pipeline.PipelineWriter;
import io.texforce.unet.pipeline.StableDiffusionPipeline;
import io.texforce.unet.singlefile.SingleFileExporter;
import picocli.CommandLine.Command;
import picocli.CommandLine.Mixin;
import picocli.CommandLine.Option;

import java.nio.file.Files;
import java.nio.file.Path;
import java.util.Locale;

/** {@code texforce fuse}: LoRAs merged into a new, self-contained diffusers pipeline folder. */
@Command(name = "fuse", mixinStandardHelpOptions = true,
        description = "Merge text-encoder and U-Net LoRAs (blended with their weights: W + sum_i w_i * alpha_i/r_i *"
                + " B_i A_i) into the model's weights and save the result as a new diffusers pipeline folder, which"
                + " diffusers and other tools load without the LoRA files.")
final class FuseCommand implements Runnable {
    @Option(names = "--model", required = true, description = "Diffusers pipeline folder.")
    Path model;

    @Option(names = "--variant", paramLabel = "NAME", description = "Weight files of --model to read (e.g. fp16).")
    String variant;

    @Mixin
    PipelineLoraOptions loras;

    @Option(names = "--out", paramLabel = "DIR", description = "The diffusers folder to create.")
    Path out;

    @Option(names = "--single-file", paramLabel = "FILE", description = "Instead of --out: one original-layout"
            + " (CompVis/A1111) .safetensors checkpoint, as A1111 and ComfyUI load; without LoRAs this exports --model"
            + " as it is. SD 2.x (gelu text encoder) gets OpenCLIP text-encoder names.")
    Path singleFile;

    @Option(names = "--save-dtype", paramLabel = "same|fp32|fp16|bf16", defaultValue = "same",
            description = "Dtype of the saved weights; same: each tensor as --model stores it. Default: ${DEFAULT-VALUE}.")
    String saveDtype;

    @Override
    public void run() {
        if ((out == null) == (singleFile == null)) {
            throw new UserError("give one of --out (a diffusers folder) and --single-file (one .safetensors file)");
        }
        if (loras.isEmpty() && singleFile == null) {
            throw new UserError("nothing to fuse: give --text-lora and/or --unet-lora");
        }
        if (singleFile != null && (!singleFile.getFileName().toString().endsWith(".safetensors")
                || Files.exists(singleFile))) {
            throw new UserError("--single-file " + singleFile + " must be a new .safetensors file");
        }
        if (!Files.isDirectory(model)) {
            throw new UserError("model folder " + model + " does not exist");
        }
        DType dtype = switch (saveDtype.toLowerCase(Locale.ROOT)) {
            case "same" -> null;
            case "fp32" -> DType.F32;
            case "fp16" -> DType.F16;
            case "bf16" -> DType.BF16;
            default -> throw new UserError("--save-dtype " + saveDtype + ": expected same, fp32, fp16 or bf16");
        };
        // Merged in float32 and rounded once when saved.
        StableDiffusionPipeline pipe = StableDiffusionPipeline.load(model, CpuBackend.INSTANCE, WeightDtype.FP32, variant);
        loras.attach(pipe).forEach(LoraNetwork::merge);
        if (out != null) {
            PipelineWriter.write(pipe, model, variant, out, dtype);
        } else {
            SingleFileExporter.export(pipe, model, variant, singleFile, SingleFileExporter.TextLayout.of(pipe), dtype);
        }
        System.err.printf("fused %d text-encoder and %d U-Net LoRA(s) into %s%n", loras.text.size(), loras.unet.size(),
                out != null ? out : singleFile);
    }
}
