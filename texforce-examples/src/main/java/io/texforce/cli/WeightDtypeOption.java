package io.texforce.cli;

import io.texforce.tensor.WeightDtype;
import picocli.CommandLine.ITypeConverter;
import picocli.CommandLine.Option;
import picocli.CommandLine.TypeConversionException;

/** {@code --dtype} of the commands that load models: how the frozen layer weights are stored. */
final class WeightDtypeOption {
    @Option(names = {"--dtype", "--weight-dtype"}, paramLabel = "fp32|bf16|fp16", defaultValue = "fp32",
            converter = Converter.class,
            description = "Storage of the frozen Linear/Conv2d weights and embeddings: fp32, or bf16/fp16 for half the"
                    + " memory (LoRA and optimizer state stay fp32; arithmetic too on the CPU, while on a GPU the"
                    + " products with these weights take 16-bit inputs and accumulate in fp32)."
                    + " Default: ${DEFAULT-VALUE}.")
    WeightDtype value = WeightDtype.FP32;

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
