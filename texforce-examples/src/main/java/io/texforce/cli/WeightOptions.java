package io.texforce.cli;

import io.texforce.tensor.Backend;
import io.texforce.tensor.WeightDtype;
import picocli.CommandLine.ITypeConverter;
import picocli.CommandLine.Option;
import picocli.CommandLine.TypeConversionException;

/**
 * The weight options of the commands that load models: which weight files ({@code --variant}), how the frozen layer
 * weights are stored ({@code --dtype}) and the activations' format on a GPU ({@code --activations}).
 */
final class WeightOptions {
    @Option(names = {"--dtype", "--weight-dtype"}, paramLabel = "fp32|bf16|fp16", defaultValue = "fp32",
            converter = Converter.class,
            description = "Storage of the frozen Linear/Conv2d weights and embeddings: fp32, or bf16/fp16 for half the"
                    + " memory (LoRA and optimizer state stay fp32; arithmetic too on the CPU, while on a GPU the"
                    + " products with these weights take 16-bit inputs and accumulate in fp32)."
                    + " Default: ${DEFAULT-VALUE}.")
    WeightDtype value = WeightDtype.FP32;

    @Option(names = "--activations", paramLabel = "auto|fp32|bf16|fp16", defaultValue = "auto",
            description = "Format of the activations on a GPU: bf16/fp16 halve the bytes every kernel moves and every"
                    + " activation saved for the backward takes (GEMMs, convolutions and attention write 16-bit"
                    + " results; sums, norm statistics, softmax, losses, LoRA and optimizer state stay fp32), as"
                    + " a PyTorch model run in that dtype. auto: the --dtype of the weights on a GPU, fp32 on the CPU"
                    + " (which computes in fp32 only). Default: ${DEFAULT-VALUE}.")
    String activations = "auto";

    @Option(names = "--variant", paramLabel = "NAME",
            description = "Weight files to load, as diffusers' variant=: fp16 reads diffusion_pytorch_model.fp16"
                    + ".safetensors / model.fp16.safetensors (and their shards), non_ema the non-EMA U-Net, ...;"
                    + " a component without that variant loads its plain weights (with a warning). Default: the"
                    + " plain weights, or a component's only variant when it has no others.")
    String variant;

    /** Sets the activation format --activations asks for on {@code backend} and returns it. */
    Backend activationsOn(Backend backend) {
        if (activations.equalsIgnoreCase("auto")) {
            try {
                backend.setActivationDtype(value);
            } catch (UnsupportedOperationException e) {
                backend.setActivationDtype(WeightDtype.FP32);  // a backend that computes in fp32 only (the CPU)
            }
            return backend;
        }
        WeightDtype act;
        try {
            act = WeightDtype.parse(activations);
        } catch (IllegalArgumentException e) {
            throw new UserError("--activations: " + e.getMessage() + " or auto");
        }
        try {
            backend.setActivationDtype(act);
        } catch (UnsupportedOperationException e) {
            throw new UserError("--activations " + act.cliName() + ": " + e.getMessage());
        }
        return backend;
    }

    static final class Converter implements ITypeConverter<WeightDtype> {
        @Override
        public WeightDtype convert(String s) {
            try {
                return WeightDtype.parse(s);
            } catch (IllegalArgumentException e) {
                throw new TypeConversionException(e.getMessage());
            }
        }
    }
}
