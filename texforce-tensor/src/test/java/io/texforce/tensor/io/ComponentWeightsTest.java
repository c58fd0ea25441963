package io.texforce.tensor.io;

import io.texforce.tensor.Tensor;
import io.texforce.tensor.nn.CheckpointSource;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.List;
import java.util.Map;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertNull;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

/** Which files hold a component's weights, under the names diffusers and transformers save them with. */
class ComponentWeightsTest {
    private static final String STEM = "diffusion_pytorch_model";

    @TempDir
    Path dir;

    private void weights(String file, float value) {
        SafeTensors.write(dir.resolve(file), Map.of("w." + file.hashCode(), Tensor.of(new float[]{value}, 1)), Map.of());
    }

    private List<String> names(ComponentWeights w) {
        return w.files().stream().map(p -> p.getFileName().toString()).toList();
    }

    @Test
    void plainWeightsComeFirstAndVariantsOnRequest() {
        weights(STEM + ".safetensors", 1);
        weights(STEM + ".fp16.safetensors", 2);
        weights(STEM + ".non_ema.safetensors", 3);
        ComponentWeights plain = ComponentWeights.find(dir, STEM, null);
        assertEquals(List.of(STEM + ".safetensors"), names(plain));
        assertNull(plain.variant());
        ComponentWeights fp16 = ComponentWeights.find(dir, STEM, "fp16");
        assertEquals(List.of(STEM + ".fp16.safetensors"), names(fp16));
        assertEquals("fp16", fp16.variant());
        assertEquals(List.of(STEM + ".non_ema.safetensors"), names(ComponentWeights.find(dir, STEM, "non_ema")));
    }

    @Test
    void aFolderWithOneVariantOnlyLoadsIt() {
        weights(STEM + ".fp16.safetensors", 2);
        ComponentWeights w = ComponentWeights.find(dir, STEM, null);
        assertEquals(List.of(STEM + ".fp16.safetensors"), names(w));
        assertEquals("fp16", w.variant());
    }

    @Test
    void severalVariantsWithoutPlainWeightsAskForAChoice() {
        weights(STEM + ".fp16.safetensors", 2);
        weights(STEM + ".non_ema.safetensors", 3);
        var e = assertThrows(SafeTensorsException.class, () -> ComponentWeights.find(dir, STEM, null));
        System.out.println("message: " + e.getMessage());
        assertTrue(e.getMessage().contains("[fp16, non_ema]"), e.getMessage());
        assertTrue(e.getMessage().contains("--variant"), e.getMessage());
    }

    @Test
    void aMissingVariantFallsBackToThePlainWeights() {
        weights(STEM + ".safetensors", 1);
        ComponentWeights w = ComponentWeights.find(dir, STEM, "fp16");
        assertEquals(List.of(STEM + ".safetensors"), names(w));
        assertNull(w.variant());
    }

    @Test
    void aMissingVariantWithoutPlainWeightsNamesWhatIsThere() {
        weights(STEM + ".non_ema.safetensors", 3);
        var e = assertThrows(SafeTensorsException.class, () -> ComponentWeights.find(dir, STEM, "fp16"));
        assertTrue(e.getMessage().contains("no 'fp16' variant"), e.getMessage());
        assertTrue(e.getMessage().contains("[non_ema]"), e.getMessage());
        assertTrue(e.getMessage().contains(dir.toString()), e.getMessage());
    }

    @Test
    void shardsAreReadThroughTheirIndexInEveryNamingScheme() throws IOException {
        weights(STEM + "-00002-of-00002.safetensors", 2);
        weights(STEM + "-00001-of-00002.safetensors", 1);
        index(STEM + ".safetensors.index.json", STEM + "-00001-of-00002.safetensors", STEM + "-00002-of-00002.safetensors");
        // diffusers/transformers today: the variant before the shard number, its own index name
        weights(STEM + ".fp16-00001-of-00002.safetensors", 1);
        weights(STEM + ".fp16-00002-of-00002.safetensors", 2);
        index(STEM + ".safetensors.index.fp16.json", STEM + ".fp16-00001-of-00002.safetensors",
                STEM + ".fp16-00002-of-00002.safetensors");
        // older transformers: the variant after the shard number, no index
        weights(STEM + "-00001-of-00002.bf16.safetensors", 1);
        weights(STEM + "-00002-of-00002.bf16.safetensors", 2);

        assertEquals(List.of(STEM + "-00001-of-00002.safetensors", STEM + "-00002-of-00002.safetensors"),
                names(ComponentWeights.find(dir, STEM, null)));
        assertEquals(List.of(STEM + ".fp16-00001-of-00002.safetensors", STEM + ".fp16-00002-of-00002.safetensors"),
                names(ComponentWeights.find(dir, STEM, "fp16")));
        assertEquals(List.of(STEM + "-00001-of-00002.bf16.safetensors", STEM + "-00002-of-00002.bf16.safetensors"),
                names(ComponentWeights.find(dir, STEM, "bf16")));
        try (CheckpointSource src = CheckpointSource.openComponent(dir, STEM, "fp16")) {
            List<Float> read = src.keys().stream().map(k -> src.load(k).item()).sorted().toList();
            assertEquals(List.of(1f, 2f), read);
        }
    }

    @Test
    void anIndexNamingAMissingShardIsAnError() throws IOException {
        weights(STEM + "-00001-of-00002.safetensors", 1);
        index(STEM + ".safetensors.index.json", STEM + "-00001-of-00002.safetensors", STEM + "-00002-of-00002.safetensors");
        var e = assertThrows(SafeTensorsException.class, () -> ComponentWeights.find(dir, STEM, null));
        System.out.println("message: " + e.getMessage());
        assertTrue(e.getMessage().contains(STEM + "-00002-of-00002.safetensors, which is missing"), e.getMessage());
    }

    @Test
    void incompleteShardsWithoutIndexAreAnError() {
        weights(STEM + "-00001-of-00003.safetensors", 1);
        weights(STEM + "-00003-of-00003.safetensors", 3);
        var e = assertThrows(SafeTensorsException.class, () -> ComponentWeights.find(dir, STEM, null));
        assertTrue(e.getMessage().contains("expected shards 1 to 3 of 3"), e.getMessage());
    }

    @Test
    void anIndexPointingOutsideTheFolderIsRefused() throws IOException {
        weights(STEM + ".safetensors.x", 1);
        Files.writeString(dir.resolve(STEM + ".safetensors.index.json"),
                "{\"metadata\": {}, \"weight_map\": {\"a\": \"../elsewhere.safetensors\"}}");
        var e = assertThrows(SafeTensorsException.class, () -> ComponentWeights.find(dir, STEM, null));
        assertTrue(e.getMessage().contains("tensor 'a'"), e.getMessage());
    }

    @Test
    void variantNamesAreChecked() {
        weights(STEM + ".safetensors", 1);
        var e = assertThrows(IllegalArgumentException.class, () -> ComponentWeights.find(dir, STEM, "../fp16"));
        assertTrue(e.getMessage().contains("'../fp16'"), e.getMessage());
    }

    @Test
    void nothingThereListsTheFolder() throws IOException {
        Files.writeString(dir.resolve("model.ckpt"), "x");
        var e = assertThrows(SafeTensorsException.class, () -> ComponentWeights.find(dir, "model", null));
        assertTrue(e.getMessage().contains("[model.ckpt]"), e.getMessage());
        assertTrue(e.getMessage().contains("pytorch_model.bin"), e.getMessage());
    }

    @Test
    void picklesServeWhereNoSafetensorsAre() throws IOException {
        Files.writeString(dir.resolve("pytorch_model.bin"), "x");
        Files.writeString(dir.resolve("pytorch_model.fp16.bin"), "x");
        assertEquals(List.of("pytorch_model.bin"), names(ComponentWeights.find(dir, "model", null)));
        assertEquals(List.of("pytorch_model.fp16.bin"), names(ComponentWeights.find(dir, "model", "fp16")));
        weights("model.safetensors", 1);
        assertEquals(List.of("model.safetensors"), names(ComponentWeights.find(dir, "model", null)),
                "safetensors first, as diffusers prefers them");
    }

    private void index(String name, String... files) throws IOException {
        StringBuilder map = new StringBuilder();
        for (String f : files) {
            if (!map.isEmpty()) {
                map.append(", ");
            }
            map.append('"').append("w.").append(f.hashCode()).append("\": \"").append(f).append('"');
        }
        Files.writeString(dir.resolve(name), "{\"metadata\": {\"total_size\": 8}, \"weight_map\": {" + map + "}}");
    }
}
