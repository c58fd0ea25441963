package io.texforce.unet.singlefile;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import io.texforce.tensor.Tensor;
import io.texforce.tensor.TestData;
import io.texforce.tensor.io.DType;
import io.texforce.tensor.io.SafeTensors;
import io.texforce.tensor.io.SafeTensorsWriter;
import io.texforce.tensor.nn.SafeTensorsSource;
import io.texforce.tensor.nn.WeightSource;
import io.texforce.unet.pipeline.StableDiffusionPipeline;
import io.texforce.unet.scheduler.SchedulerConfig;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.ValueSource;

import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.Arrays;
import java.util.HashMap;
import java.util.Map;
import java.util.Set;
import java.util.TreeMap;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

/**
 * Single-file checkpoints written by diffusers' scripts/convert_diffusers_to_original_stable_diffusion.py (testdata/
 * single-file, made by tools/interop/make_single_file_fixtures.py) converted back into diffusers folders: every tensor
 * must come back bit for bit under its diffusers name, and the full-size SD 1.5 / SD 2.1 layouts must map one to one.
 */
class SingleFileConverterTest {
    private static final Path DIR = TestData.root().resolve("single-file");

    @TempDir
    Path tmp;

    private static Map<String, Tensor> weights(Path file) {
        return SafeTensors.loadAll(file);
    }

    private static void assertSameTensors(Path expected, Path actual) {
        Map<String, Tensor> e = weights(expected);
        Map<String, Tensor> a = weights(actual);
        assertEquals(new TreeMap<>(e).keySet(), new TreeMap<>(a).keySet(), actual.toString());
        for (String k : e.keySet()) {
            assertArrayEquals(e.get(k).shape(), a.get(k).shape(), k);
            assertArrayEquals(e.get(k).toFloatArray(), a.get(k).toFloatArray(), 0f, k);
        }
        try (SafeTensors st = SafeTensors.open(actual)) {
            for (String k : st.keys()) {
                assertEquals(DType.F16, st.info(k).dtype(), k + " keeps the file's dtype");
            }
        }
    }

    @ParameterizedTest
    @ValueSource(strings = {"tiny-sd1", "tiny-sd2"})
    void aFileFromDiffusersScriptConvertsBackExactly(String name) {
        Path out = tmp.resolve(name);
        SingleFileConverter.Result r;
        try (SafeTensorsSource src = SafeTensorsSource.open(DIR.resolve(name + ".safetensors"))) {
            r = SingleFileConverter.convert(src, out,
                    new SingleFileConverter.Options(DIR.resolve(name), null, 0, false));
        }
        assertEquals(name.endsWith("sd2") ? SingleFileConverter.Family.SD2 : SingleFileConverter.Family.SD1, r.family());
        // alphas_cumprod and model_ema.decay; the SD 2 file's extra layer and projection are model keys left out.
        assertEquals(2, r.ignoredKeys());
        for (String c : new String[]{"unet/diffusion_pytorch_model", "vae/diffusion_pytorch_model", "text_encoder/model"}) {
            assertSameTensors(DIR.resolve(name).resolve(c + ".safetensors"), out.resolve(c + ".safetensors"));
        }
        StableDiffusionPipeline pipe = StableDiffusionPipeline.load(out);  // tokenizer and scheduler: bundled
        assertEquals(name.endsWith("sd2") ? SchedulerConfig.PredictionType.V_PREDICTION
                : SchedulerConfig.PredictionType.EPSILON, pipe.scheduler().config().predictionType());
        assertEquals(8, pipe.unet().config().sampleSize());
        assertFalse(hasTemporaryFolders(), "no temporary folder left behind");
    }

    private boolean hasTemporaryFolders() {
        try (var s = Files.list(tmp)) {
            return s.anyMatch(p -> p.getFileName().toString().startsWith("."));
        } catch (IOException e) {
            throw new RuntimeException(e);
        }
    }

    @Test
    void optionsOverrideThePredictionTypeAndImageSize() throws IOException {
        Path out = tmp.resolve("eps");
        try (SafeTensorsSource src = SafeTensorsSource.open(DIR.resolve("tiny-sd2.safetensors"))) {
            SingleFileConverter.convert(src, out, new SingleFileConverter.Options(DIR.resolve("tiny-sd2"), "epsilon",
                    48, false));
        }
        ObjectMapper m = new ObjectMapper();
        assertEquals("epsilon", m.readTree(out.resolve("scheduler/scheduler_config.json").toFile())
                .get("prediction_type").asText());
        assertEquals(6, m.readTree(out.resolve("unet/config.json").toFile()).get("sample_size").asInt());
        assertEquals("!", m.readTree(out.resolve("tokenizer/tokenizer_config.json").toFile()).get("pad_token").asText(),
                "SD 2.x's tokenizer pads with '!'");
    }

    @Test
    void theEmaCopyIsTakenOnRequest() {
        Path file = tmp.resolve("ema.safetensors");
        SafeTensorsWriter w = new SafeTensorsWriter();
        Map<String, Tensor> all = weights(DIR.resolve("tiny-sd1.safetensors"));
        all.forEach((k, v) -> {
            w.put(k, v, DType.F16);
            if (k.startsWith("model.diffusion_model.")) {
                w.put("model_ema." + k.substring("model.".length()).replace(".", ""), v.mul(-1f), DType.F16);
            }
        });
        w.write(file);
        Path out = tmp.resolve("ema");
        try (SafeTensorsSource src = SafeTensorsSource.open(file)) {
            SingleFileConverter.convert(src, out, new SingleFileConverter.Options(DIR.resolve("tiny-sd1"), null, 0, true));
        }
        Map<String, Tensor> trained = weights(DIR.resolve("tiny-sd1/unet/diffusion_pytorch_model.safetensors"));
        Map<String, Tensor> ema = weights(out.resolve("unet/diffusion_pytorch_model.safetensors"));
        for (String k : trained.keySet()) {
            assertArrayEquals(trained.get(k).mul(-1f).toFloatArray(), ema.get(k).toFloatArray(), 0f, k);
        }
        var e = assertThrows(IllegalArgumentException.class, () -> {
            try (SafeTensorsSource src = SafeTensorsSource.open(DIR.resolve("tiny-sd1.safetensors"))) {
                SingleFileConverter.convert(src, tmp.resolve("no-ema"),
                        new SingleFileConverter.Options(DIR.resolve("tiny-sd1"), null, 0, true));
            }
        });
        assertTrue(e.getMessage().contains("no EMA copy"), e.getMessage());
    }

    /** The full-size layouts diffusers' script writes from the real SD 1.5 and SD 2.1 configs, names and shapes only. */
    @ParameterizedTest
    @ValueSource(strings = {"sd15", "sd21"})
    void fullSizeLayoutsMapOneToOneWithTheBundledConfigs(String name) throws IOException {
        JsonNode layout = new ObjectMapper().readTree(DIR.resolve("layouts.json").toFile()).get(name);
        Map<String, int[]> ldm = shapes(layout.get("ldm"));
        Map<String, int[]> expected = shapes(layout.get("diffusers"));
        SingleFileConverter.Plan plan = SingleFileConverter.plan(new ShapesOnly(ldm), SingleFileConverter.Options.defaults());
        assertEquals(name.equals("sd21") ? SingleFileConverter.Family.SD2 : SingleFileConverter.Family.SD1, plan.family());
        Map<String, int[]> got = new HashMap<>();
        for (var e : Map.of("unet/", plan.unet(), "vae/", plan.vae(), "text_encoder/", plan.textEncoder()).entrySet()) {
            for (String k : e.getValue().keys()) {
                got.put(e.getKey() + k, e.getValue().shape(k));
            }
        }
        assertEquals(new TreeMap<>(expected).keySet(), new TreeMap<>(got).keySet());
        for (String k : expected.keySet()) {
            assertArrayEquals(expected.get(k), got.get(k), k);
        }
        System.out.printf("%s: %d original keys -> %d diffusers tensors%n", name, ldm.size(), got.size());
    }

    private static Map<String, int[]> shapes(JsonNode n) {
        Map<String, int[]> out = new HashMap<>();
        n.properties().forEach(e -> {
            int[] s = new int[e.getValue().size()];
            for (int i = 0; i < s.length; i++) {
                s[i] = e.getValue().get(i).asInt();
            }
            out.put(e.getKey(), s);
        });
        return out;
    }

    /** Names and shapes of a checkpoint without its data. */
    private record ShapesOnly(Map<String, int[]> shapes) implements WeightSource {
        @Override
        public boolean contains(String key) {
            return shapes.containsKey(key);
        }

        @Override
        public int[] shape(String key) {
            return shapes.get(key);
        }

        @Override
        public Tensor load(String key) {
            throw new UnsupportedOperationException("shapes only");
        }

        @Override
        public Set<String> keys() {
            return shapes.keySet();
        }

        @Override
        public String describe() {
            return "layout";
        }
    }

    @Test
    void badInputIsNamed() throws IOException {
        Map<String, int[]> sdxl = Map.of("conditioner.embedders.0.transformer.text_model.embeddings.token_embedding.weight",
                new int[]{1, 1}, "model.diffusion_model.input_blocks.0.0.weight", new int[]{1, 1});
        var e = assertThrows(IllegalArgumentException.class, () -> SingleFileConverter.detect(new ShapesOnly(sdxl)));
        assertTrue(e.getMessage().contains("SDXL"), e.getMessage());

        Map<String, int[]> other = Map.of("encoder.layer.0.weight", new int[]{1});
        e = assertThrows(IllegalArgumentException.class, () -> SingleFileConverter.detect(new ShapesOnly(other)));
        assertTrue(e.getMessage().contains("not an SD 1.x / 2.x") && e.getMessage().contains("encoder.layer.0.weight"),
                e.getMessage());

        Map<String, int[]> extra = new HashMap<>();
        try (SafeTensorsSource src = SafeTensorsSource.open(DIR.resolve("tiny-sd1.safetensors"))) {
            src.keys().forEach(k -> extra.put(k, src.shape(k)));
        }
        extra.put("model.diffusion_model.label_emb.0.0.weight", new int[]{32, 10});
        e = assertThrows(IllegalArgumentException.class, () -> SingleFileConverter.plan(new ShapesOnly(extra),
                new SingleFileConverter.Options(DIR.resolve("tiny-sd1"), null, 0, false)));
        assertTrue(e.getMessage().contains("label_emb"), e.getMessage());

        Files.createDirectories(tmp.resolve("taken"));
        e = assertThrows(IllegalArgumentException.class, () -> {
            try (SafeTensorsSource src = SafeTensorsSource.open(DIR.resolve("tiny-sd1.safetensors"))) {
                SingleFileConverter.convert(src, tmp.resolve("taken"), SingleFileConverter.Options.defaults());
            }
        });
        assertTrue(e.getMessage().contains("exists already"), e.getMessage());

        // The bundled SD 1.5 configs do not fit the tiny model: the conversion fails naming a tensor and leaves nothing.
        e = assertThrows(IllegalArgumentException.class, () -> {
            try (SafeTensorsSource src = SafeTensorsSource.open(DIR.resolve("tiny-sd1.safetensors"))) {
                SingleFileConverter.convert(src, tmp.resolve("wrong-configs"), SingleFileConverter.Options.defaults());
            }
        });
        System.out.println("wrong configs: " + e.getMessage());
        assertFalse(Files.exists(tmp.resolve("wrong-configs")));
        assertFalse(hasTemporaryFolders());
        assertTrue(Arrays.asList(e.getMessage().split(" ")).stream().anyMatch(w -> w.contains("weight")), e.getMessage());
    }
}
