package io.texforce.cli;

import io.texforce.tensor.Backend;
import io.texforce.tensor.GradMode;
import io.texforce.tensor.Tensor;
import io.texforce.tensor.io.SafeTensors;
import io.texforce.tensor.io.SafeTensorsWriter;
import io.texforce.unet.model.UNet2DConditionModel;
import picocli.CommandLine.Command;
import picocli.CommandLine.Mixin;
import picocli.CommandLine.Option;

import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;

/** {@code texforce unet}: one U-Net forward pass on tensors from a file. */
@Command(name = "unet", mixinStandardHelpOptions = true,
        description = "Run the U-Net once: reads 'sample' [B,C,H,W], 'timestep' (one per row, int or float) and "
                + "'encoder_hidden_states' [B,77,D] from --in, writes 'sample' to --out.")
final class UnetCommand implements Runnable {
    @Option(names = "--model", required = true, description = "Diffusers pipeline folder (or its unet/ folder).")
    Path model;

    @Mixin
    WeightOptions dtype;

    @Option(names = "--in", required = true, description = "Input .safetensors file.")
    Path in;

    @Option(names = "--out", required = true, description = "Output .safetensors file (written atomically).")
    Path out;

    @Option(names = "--lora", paramLabel = "FILE[:WEIGHT]", description = "U-Net LoRA with its blend weight; repeatable.")
    List<String> loras = new ArrayList<>();

    @Mixin
    DeviceOption device;

    @Override
    public void run() {
        Tensor sample, context;
        float[] t;
        try (SafeTensors st = SafeTensors.open(in)) {
            for (String k : List.of("sample", "timestep", "encoder_hidden_states")) {
                if (!st.contains(k)) {
                    throw new UserError(in + " has no tensor '" + k + "' (it has " + st.keys() + ")");
                }
            }
            sample = st.tensor("sample");
            context = st.tensor("encoder_hidden_states");
            t = st.floats("timestep");
        }
        Backend be = dtype.activationsOn(device.backend());
        UNet2DConditionModel unet = UNet2DConditionModel.load(ModelDir.component(model, "unet", "config.json"), be,
                dtype.value, dtype.variant);
        LoraSpec.attachAll(unet, loras);
        Tensor result;
        try (var g = GradMode.noGrad()) {
            result = unet.forward(sample.to(be), t, context.to(be));
        }
        new SafeTensorsWriter().put("sample", result).write(out);
    }
}
