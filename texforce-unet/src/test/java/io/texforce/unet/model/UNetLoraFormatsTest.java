package io.texforce.unet.model;

import io.texforce.tensor.GradMode;
import io.texforce.tensor.Tensor;
import io.texforce.tensor.TestData;
import io.texforce.tensor.io.DType;
import io.texforce.tensor.io.SafeTensors;
import io.texforce.tensor.io.SafeTensorsWriter;
import io.texforce.tensor.lora.LoraConfig;
import io.texforce.tensor.lora.LoraNetwork;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

import java.nio.file.Path;
import java.util.List;
import java.util.Map;

import static io.texforce.unet.model.UNetParityTest.maxAbsDiff;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

/**
 * U-Net LoRA files in the layouts other methods (DDPO/ReFL/AlignProp) publish them in: the same adapter written
 * as DDPO-era attention processors and as kohya must reproduce the peft golden; a conv (1x1 proj_in) adapter
 * merges exactly.
 */
class UNetLoraFormatsTest {
    static UNet2DConditionModel unet;
    static SafeTensors golden;

    @TempDir
    Path tmp;

    @BeforeAll
    static void load() {
        unet = UNet2DConditionModel.load(TestData.tinySd1());
        golden = SafeTensors.open(TestData.tinySd1().resolve("golden/golden.safetensors"));
    }

    private Tensor forward() {
        try (var g = GradMode.noGrad()) {
            return unet.forward(golden.tensor("unet.in.sample"), golden.tensor("unet.in.timestep").toFloatArray(),
                    golden.tensor("unet.in.encoder_hidden_states"));
        }
    }

    private void assertGolden(Path file, float weight) {
        LoraNetwork n = unet.loadLora(file, "x", weight);
        try {
            double err = maxAbsDiff(forward(), golden.tensor("lora.unet.out.sample"));
            System.out.printf("%s: lora.unet.out.sample max abs error %.3e%n", file.getFileName(), err);
            assertTrue(err < 1e-4, "max abs error " + err);
        } finally {
            n.detach();
        }
    }

    @Test
    void processorAndKohyaLayoutsMatchThePeftGolden() {
        Map<String, Tensor> peft = SafeTensors.loadAll(TestData.tinySd1().resolve("lora_unet.safetensors"));
        SafeTensorsWriter proc = new SafeTensorsWriter(), kohya = new SafeTensorsWriter();
        peft.forEach((k, t) -> {
            String layer = k.substring("unet.".length(), k.indexOf(".lora_"));
            boolean down = k.contains("lora_A");
            int cut = layer.lastIndexOf(".to_");
            String proj = layer.substring(cut + 1).replace("to_out.0", "to_out");
            proc.put(layer.substring(0, cut) + ".processor." + proj + "_lora." + (down ? "down" : "up") + ".weight", t);
            String kname = "lora_unet_" + layer.replace('.', '_');
            kohya.put(kname + (down ? ".lora_down.weight" : ".lora_up.weight"), t);
            if (down) {
                kohya.put(kname + ".alpha", Tensor.scalar(t.size(0)), DType.F16);
            }
        });
        Path p = tmp.resolve("processor.safetensors"), k = tmp.resolve("kohya.safetensors");
        proc.write(p);
        kohya.write(k);
        assertGolden(p, 1f);
        assertGolden(k, 1f);
    }

    @Test
    void convAdapterOnProjInMergesExactly() {
        LoraNetwork n = unet.createLora("conv", new LoraConfig(2, 2f, List.of("proj_in")), 5);
        try {
            assertEquals(6, n.adapters().size(), "one proj_in per Transformer2DModel");
            n.adapters().values().forEach(a -> a.up().detach().copyFrom(Tensor.full(0.01f, a.up().shape())));
            Tensor live = forward();
            Tensor base = golden.tensor("unet.out.sample");
            assertTrue(maxAbsDiff(live, base) > 1e-4, "the adapter changes the output");
            n.merge();
            double err = maxAbsDiff(forward(), live);
            System.out.printf("conv LoRA merged vs unmerged max abs error %.3e%n", err);
            assertTrue(err < 1e-5, "merged vs live " + err);
            n.unmerge();
        } finally {
            n.detach();
        }
    }
}
