package io.texforce.unet.model;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import io.texforce.tensor.GradMode;
import io.texforce.tensor.Tensor;
import io.texforce.tensor.TestData;
import io.texforce.tensor.io.SafeTensors;
import io.texforce.tensor.lora.LoraConfig;
import io.texforce.tensor.lora.LoraNetwork;
import io.texforce.tensor.nn.LoraLayer;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import java.util.Set;
import java.util.TreeSet;

import static io.texforce.unet.model.UNetParityTest.maxAbsDiff;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

/**
 * U-Net LoRA files as diffusers/peft write them (testdata/lora-interop) against diffusers' outputs, and the peft
 * config we write for diffusers: target_modules must select exactly the adapted layers.
 */
class DiffusersUNetLoraFilesTest {
    static final Path DIR = TestData.root().resolve("lora-interop");
    static UNet2DConditionModel unet;
    static SafeTensors golden;
    static Tensor sample, context;
    static float[] timestep;

    @TempDir
    Path tmp;

    @BeforeAll
    static void load() {
        unet = UNet2DConditionModel.load(TestData.tinySd1());
        golden = SafeTensors.open(DIR.resolve("golden.safetensors"));
        try (SafeTensors g = SafeTensors.open(TestData.tinySd1().resolve("golden/golden.safetensors"))) {
            sample = g.tensor("unet.in.sample").narrow(0, 0, 1).contiguous();
            context = g.tensor("unet.in.encoder_hidden_states").narrow(0, 0, 1).contiguous();
            timestep = new float[]{g.tensor("unet.in.timestep").toFloatArray()[0]};
        }
    }

    private Tensor forward() {
        try (var g = GradMode.noGrad()) {
            return unet.forward(sample, timestep, context);
        }
    }

    private void assertGolden(String file, String key) {
        LoraNetwork n = unet.loadLora(DIR.resolve(file), "x", 1f);
        try {
            double err = maxAbsDiff(forward(), golden.tensor(key));
            System.out.printf("%s max abs error %.3e%n", key, err);
            assertTrue(err < 1e-5, key + ": max abs error " + err);
        } finally {
            n.detach();
        }
    }

    @Test
    void peftFileWithAlphaPatternAndRsLoraMatchesDiffusers() {
        LoraNetwork n = unet.loadLora(DIR.resolve("diffusers_peft.safetensors"), "x", 1f);
        try {
            assertEquals(12, n.adapters().size(), "attn2.to_k and proj_in of 6 transformer blocks");
            // rsLoRA: scale alpha / sqrt(r), held as alpha * sqrt(r) / r
            var toK = n.adapters().get("down_blocks.0.attentions.0.transformer_blocks.0.attn2.to_k");
            var projIn = n.adapters().get("down_blocks.0.attentions.0.proj_in");
            assertEquals(3 / Math.sqrt(2), toK.alpha() / toK.rank(), 1e-6);
            assertEquals(1 / Math.sqrt(2), projIn.alpha() / projIn.rank(), 1e-6, "alpha_pattern proj_in");
        } finally {
            n.detach();
        }
        assertGolden("diffusers_peft.safetensors", "diffusers_peft.unet");
    }

    @Test
    void kohyaExportOfDiffusersMatchesDiffusers() {
        assertGolden("diffusers_kohya.safetensors", "diffusers_kohya.unet");
    }

    @Test
    void savedTargetModulesSelectExactlyTheAdaptedLayers() throws Exception {
        // attn2.to_k without attn1.to_k: the bare name "to_k" would make peft adapt attn1.to_k as well.
        LoraNetwork n = unet.createLora("t", new LoraConfig(2, 2f, List.of("attn2.to_k", "ff.net.0.proj", "to_out.0")), 3);
        Path out = tmp.resolve("t.safetensors");
        try {
            n.save(out);
        } finally {
            n.detach();
        }
        JsonNode meta;
        try (SafeTensors st = SafeTensors.open(out)) {
            meta = new ObjectMapper().readTree(st.metadata().get("lora_adapter_metadata"));
        }
        List<String> targets = new ArrayList<>();
        meta.get("unet.target_modules").forEach(t -> targets.add(t.asText()));
        assertEquals(Set.of("attn2.to_k", "proj", "to_out.0"), new TreeSet<>(targets));
        List<String> selected = new ArrayList<>();
        unet.namedModules().forEach((path, m) -> {
            if (m instanceof LoraLayer && targets.stream().anyMatch(t -> path.equals(t) || path.endsWith("." + t))) {
                selected.add(path);
            }
        });
        assertEquals(new TreeSet<>(n.adapters().keySet()), new TreeSet<>(selected));
        assertEquals(2, meta.get("unet.r").asInt());
        assertEquals(0, meta.get("unet.rank_pattern").size());
    }
}
