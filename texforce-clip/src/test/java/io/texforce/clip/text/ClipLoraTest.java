package io.texforce.clip.text;

import io.texforce.tensor.GradMode;
import io.texforce.tensor.Tensor;
import io.texforce.tensor.TestData;
import io.texforce.tensor.io.SafeTensors;
import io.texforce.tensor.io.SafeTensorsWriter;
import io.texforce.tensor.lora.LoraConfig;
import io.texforce.tensor.lora.LoraNetwork;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

import java.nio.file.Path;
import java.util.List;
import java.util.Map;

import static io.texforce.clip.text.ClipTextModelParityTest.maxAbsDiff;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

/** Text-encoder LoRA: goldens at scale 1.0 / 0.5 and the 0.7/0.3 blend, file layouts, merge, errors. */
class ClipLoraTest {
    static final Path LORA1 = TestData.tinySd1().resolve("lora_text_encoder.safetensors");
    static final Path LORA2 = TestData.tinySd1().resolve("lora_text_encoder_2.safetensors");
    static ClipTextModel model;
    static SafeTensors golden;
    static int[][] ids;
    final java.util.List<LoraNetwork> attached = new java.util.ArrayList<>();

    @TempDir
    Path tmp;

    @BeforeAll
    static void load() {
        model = ClipTextModel.load(TestData.tinySd1());
        golden = SafeTensors.open(TestData.tinySd1().resolve("golden/golden.safetensors"));
        ids = java.util.Arrays.copyOf(golden.intRows("tokens.input_ids"), 3);
    }

    @AfterEach
    void detachAll() {
        attached.forEach(LoraNetwork::detach);
    }

    private LoraNetwork load(Path file, String name, float w) {
        LoraNetwork n = model.loadLora(file, name, w);
        attached.add(n);
        return n;
    }

    private Tensor encode() {
        try (var g = GradMode.noGrad()) {
            return model.forward(ids);
        }
    }

    private void assertGolden(String key) {
        double err = maxAbsDiff(encode(), golden.tensor(key));
        System.out.printf("%s max abs error %.3e%n", key, err);
        assertTrue(err < 1e-4, key + ": max abs error " + err);
    }

    @Test
    void scaleOneAndHalfMatchDiffusers() {
        LoraNetwork n = load(LORA1, "a", 1f);
        assertEquals(12, n.adapters().size());
        assertGolden("lora.text_encoder.scale_1.0");
        n.setWeight(0.5f);
        assertGolden("lora.text_encoder.scale_0.5");
    }

    @Test
    void blendOfTwoAdaptersMatchesDiffusers() {
        load(LORA1, "a", 0.7f);
        load(LORA2, "b", 0.3f);
        assertGolden("lora.blend_0.7_0.3");
    }

    @Test
    void disablingRestoresTheBaseModel() {
        LoraNetwork n = load(LORA1, "a", 1f);
        n.setEnabled(false);
        double err = maxAbsDiff(encode(), golden.tensor("text_encoder.last_hidden_state").narrow(0, 0, 3));
        assertEquals(0.0, err, 1e-5);
    }

    @Test
    void mergeGivesTheSameOutputAndUnmergeRestoresWeights() {
        float[] before = model.namedParameters().get("text_model.encoder.layers.0.self_attn.q_proj.weight").toFloatArray();
        LoraNetwork n = load(LORA1, "a", 1f);
        n.merge();
        assertGolden("lora.text_encoder.scale_1.0");
        n.unmerge();
        float[] after = model.namedParameters().get("text_model.encoder.layers.0.self_attn.q_proj.weight").toFloatArray();
        double d = 0;
        for (int i = 0; i < before.length; i++) {
            d = Math.max(d, Math.abs(before[i] - after[i]));
        }
        assertTrue(d < 1e-6, "unmerge drift " + d);
        assertGolden("lora.text_encoder.scale_1.0");
    }

    @Test
    void writtenFileReadsBackWithTheSameOutputs() {
        LoraNetwork n = load(LORA1, "a", 1f);
        Tensor expected = encode();
        Path out = tmp.resolve("ours.safetensors");
        n.save(out);
        n.detach();
        attached.clear();
        try (SafeTensors st = SafeTensors.open(out)) {
            assertTrue(st.contains("text_encoder.text_model.encoder.layers.0.self_attn.q_proj.lora_A.weight"));
            assertTrue(st.metadata().get("lora_adapter_metadata").contains("\"text_encoder.lora_alpha\":4.0"),
                    st.metadata().toString());
        }
        load(out, "back", 1f);
        assertEquals(0.0, maxAbsDiff(encode(), expected), 1e-6);
    }

    @Test
    void kohyaAndOldDiffusersLayoutsGiveTheSameResult() {
        Map<String, Tensor> peft = SafeTensors.loadAll(LORA1);
        SafeTensorsWriter kohya = new SafeTensorsWriter();
        SafeTensorsWriter old = new SafeTensorsWriter();
        peft.forEach((k, t) -> {
            String layer = k.substring("text_encoder.".length(), k.indexOf(".lora_"));
            boolean down = k.contains("lora_A");
            String kname = "lora_te_" + layer.replace('.', '_');
            kohya.put(kname + (down ? ".lora_down.weight" : ".lora_up.weight"), t);
            if (down) {
                // alpha 8 with rank 4: scale 2, so weight 0.5 must reproduce the scale-1 golden.
                kohya.put(kname + ".alpha", Tensor.scalar(8f), io.texforce.tensor.io.DType.F16);
            }
            old.put("text_encoder." + layer + ".lora_linear_layer." + (down ? "down" : "up") + ".weight", t);
        });
        Path k = tmp.resolve("kohya.safetensors"), o = tmp.resolve("old.safetensors");
        kohya.write(k);
        old.write(o);
        LoraNetwork kn = load(k, "kohya", 0.5f);
        assertGolden("lora.text_encoder.scale_1.0");
        kn.detach();
        attached.clear();
        load(o, "old", 1f);
        assertGolden("lora.text_encoder.scale_1.0");
    }

    @Test
    void unknownKeysAndBadShapesAreNamed() {
        SafeTensorsWriter w = new SafeTensorsWriter();
        w.put("text_encoder.text_model.encoder.layers.9.self_attn.q_proj.lora_A.weight", Tensor.zeros(4, 32));
        w.put("text_encoder.text_model.encoder.layers.9.self_attn.q_proj.lora_B.weight", Tensor.zeros(32, 4));
        Path bad = tmp.resolve("bad.safetensors");
        w.write(bad);
        var e = assertThrows(IllegalArgumentException.class, () -> load(bad, "bad", 1f));
        assertTrue(e.getMessage().contains("layers.9.self_attn.q_proj"), e.getMessage());

        SafeTensorsWriter w2 = new SafeTensorsWriter();
        w2.put("text_encoder.text_model.encoder.layers.0.self_attn.q_proj.lora_A.weight", Tensor.zeros(4, 31));
        w2.put("text_encoder.text_model.encoder.layers.0.self_attn.q_proj.lora_B.weight", Tensor.zeros(32, 4));
        Path shape = tmp.resolve("shape.safetensors");
        w2.write(shape);
        var e2 = assertThrows(IllegalArgumentException.class, () -> load(shape, "shape", 1f));
        assertTrue(e2.getMessage().contains("q_proj") && e2.getMessage().contains("[4, 31]")
                && e2.getMessage().contains("[32, 32]"), e2.getMessage());
    }

    @Test
    void newTrainableAdapterStartsAtTheBaseModelAndGetsGradients() {
        Tensor base = encode();
        LoraNetwork n = model.createLora("train", LoraConfig.textEncoderDefault(), 1);
        attached.add(n);
        assertEquals(12, n.adapters().size());
        assertEquals(0.0, maxAbsDiff(encode(), base), 0.0);
        model.forward(ids).square().mean().backward();
        Map<String, Tensor> params = n.parameters();
        Tensor gB = params.get("text_encoder.text_model.encoder.layers.0.self_attn.q_proj.lora_B.weight").grad();
        Tensor gA = params.get("text_encoder.text_model.encoder.layers.0.self_attn.q_proj.lora_A.weight").grad();
        assertTrue(gB != null && gB.abs().sum().item() > 0, "lora_B gets a gradient");
        assertTrue(gA == null || gA.abs().sum().item() == 0, "lora_A's gradient is zero while B is zero");
        List.copyOf(params.values()).forEach(Tensor::zeroGrad);
    }
}
