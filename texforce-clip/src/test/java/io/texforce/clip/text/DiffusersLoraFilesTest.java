package io.texforce.clip.text;

import io.texforce.tensor.GradMode;
import io.texforce.tensor.Tensor;
import io.texforce.tensor.TestData;
import io.texforce.tensor.io.SafeTensors;
import io.texforce.tensor.lora.LoraNetwork;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;

import static io.texforce.clip.text.ClipTextModelParityTest.maxAbsDiff;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

/**
 * Text-encoder LoRA files as diffusers/peft write them (testdata/lora-interop, made by
 * tools/interop/make_lora_fixtures.py) against diffusers' own outputs: transformers-5 key names without
 * {@code text_model.}, rank_pattern / alpha_pattern metadata, and kohya files with the {@code lora_te1_} prefix.
 */
class DiffusersLoraFilesTest {
    static final Path DIR = TestData.root().resolve("lora-interop");
    static final int TOKENS = 8;
    static ClipTextModel model;
    static SafeTensors golden;
    static int[][] ids;
    final List<LoraNetwork> attached = new ArrayList<>();

    @TempDir
    Path tmp;

    @BeforeAll
    static void load() {
        model = ClipTextModel.load(TestData.tinySd1());
        golden = SafeTensors.open(DIR.resolve("golden.safetensors"));
        try (SafeTensors g = SafeTensors.open(TestData.tinySd1().resolve("golden/golden.safetensors"))) {
            ids = new int[1][77];
            System.arraycopy(g.ints("tokens.input_ids"), 0, ids[0], 0, 77);   // "a photo of a cat"
        }
    }

    @AfterEach
    void detachAll() {
        attached.forEach(LoraNetwork::detach);
    }

    private LoraNetwork attach(Path file) {
        LoraNetwork n = model.loadLora(file, "x" + attached.size(), 1f);
        attached.add(n);
        return n;
    }

    private Tensor encode() {
        try (var g = GradMode.noGrad()) {
            return model.forward(ids).narrow(1, 0, TOKENS);
        }
    }

    private double assertGolden(String key) {
        double err = maxAbsDiff(encode(), golden.tensor(key));
        System.out.printf("%s max abs error %.3e%n", key, err);
        assertTrue(err < 1e-5, key + ": max abs error " + err);
        return err;
    }

    @Test
    void peftFileWithTransformers5NamesAndScalePatternsMatchesDiffusers() {
        LoraNetwork n = attach(DIR.resolve("diffusers_peft.safetensors"));
        assertEquals(9, n.adapters().size(), "q_proj, out_proj and fc2 of 3 layers");
        var q1 = n.adapters().get("text_model.encoder.layers.1.self_attn.q_proj");
        var q0 = n.adapters().get("text_model.encoder.layers.0.self_attn.q_proj");
        var fc2 = n.adapters().get("text_model.encoder.layers.0.mlp.fc2");
        assertEquals(1f, q1.alpha(), "alpha_pattern layers.1.self_attn.q_proj");
        assertEquals(4f, q0.alpha(), "lora_alpha");
        assertEquals(1, fc2.rank(), "rank_pattern fc2");
        assertEquals(4f, fc2.alpha());
        assertGolden("diffusers_peft.text_encoder");
    }

    @Test
    void kohyaFileWithLoraTe1PrefixMatchesDiffusers() {
        LoraNetwork n = attach(DIR.resolve("diffusers_kohya.safetensors"));
        assertEquals(9, n.adapters().size());
        assertGolden("diffusers_kohya.text_encoder");
    }

    @Test
    void savingALoadedFileKeepsItsPerLayerRanksAndAlphas() {
        LoraNetwork n = attach(DIR.resolve("diffusers_peft.safetensors"));
        Tensor expected = encode();
        Path out = tmp.resolve("resaved.safetensors");
        n.save(out);
        n.detach();
        attached.clear();
        String meta;
        try (SafeTensors st = SafeTensors.open(out)) {
            meta = st.metadata().get("lora_adapter_metadata");
        }
        assertTrue(meta.contains("\"text_encoder.r\":2") && meta.contains("\"text_encoder.lora_alpha\":4.0"), meta);
        assertTrue(meta.contains("\"text_encoder.rank_pattern\":{\"fc2\":1}"), meta);
        assertTrue(meta.contains("\"text_encoder.alpha_pattern\":{\"layers\\\\.1\\\\.self_attn\\\\.q_proj\":1.0"), meta);
        attach(out);
        double err = maxAbsDiff(encode(), expected);
        System.out.printf("re-saved diffusers_peft.safetensors: max abs error %.3e%n", err);
        assertEquals(0.0, err, 1e-6);
    }
}
