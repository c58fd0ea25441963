package io.texforce.unet.pipeline;

import io.texforce.tensor.Tensor;
import io.texforce.tensor.TestData;
import io.texforce.tensor.WeightDtype;
import io.texforce.tensor.cpu.CpuBackend;
import io.texforce.tensor.io.DType;
import io.texforce.tensor.io.SafeTensors;
import io.texforce.tensor.io.SafeTensorsWriter;
import io.texforce.tensor.nn.Module;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import java.util.TreeMap;

import static org.junit.jupiter.api.Assertions.assertEquals;

/**
 * A pipeline folder laid out as a Hub download with weight variants: the text encoder only as
 * {@code model.bf16.safetensors}, the U-Net plain and as bf16 shards with their index, the VAE plain only.
 * Which file each component was read from shows in its weights (bf16-rounded or not).
 */
class WeightVariantTest {
    @TempDir
    Path dir;

    @BeforeEach
    void layOut() throws IOException {
        Path src = TestData.tinySd1();
        for (String f : List.of("model_index.json", "tokenizer/vocab.json", "tokenizer/merges.txt",
                "tokenizer/tokenizer_config.json", "tokenizer/special_tokens_map.json", "scheduler/scheduler_config.json",
                "text_encoder/config.json", "unet/config.json", "unet/diffusion_pytorch_model.safetensors",
                "vae/config.json", "vae/diffusion_pytorch_model.safetensors")) {
            Files.createDirectories(dir.resolve(f).getParent());
            Files.copy(src.resolve(f), dir.resolve(f));
        }
        Map<String, Tensor> text = SafeTensors.loadAll(src.resolve("text_encoder/model.safetensors"));
        SafeTensorsWriter w = new SafeTensorsWriter();
        text.forEach((k, v) -> w.put(k, v, DType.BF16));
        w.write(dir.resolve("text_encoder/model.bf16.safetensors"));

        Map<String, Tensor> unet = new TreeMap<>(SafeTensors.loadAll(src.resolve("unet/diffusion_pytorch_model.safetensors")));
        List<String> keys = new ArrayList<>(unet.keySet());
        StringBuilder map = new StringBuilder();
        for (int shard = 1; shard <= 2; shard++) {
            String file = "diffusion_pytorch_model.bf16-0000" + shard + "-of-00002.safetensors";
            SafeTensorsWriter sw = new SafeTensorsWriter();
            for (String k : shard == 1 ? keys.subList(0, keys.size() / 2) : keys.subList(keys.size() / 2, keys.size())) {
                sw.put(k, unet.get(k), DType.BF16);
                map.append(map.isEmpty() ? "" : ", ").append('"').append(k).append("\": \"").append(file).append('"');
            }
            sw.write(dir.resolve("unet").resolve(file));
        }
        Files.writeString(dir.resolve("unet/diffusion_pytorch_model.safetensors.index.bf16.json"),
                "{\"metadata\": {\"total_size\": 0}, \"weight_map\": {" + map + "}}");
    }

    @Test
    void theBf16VariantIsReadWhereItExistsAndPlainWeightsElsewhere() {
        StableDiffusionPipeline pipe = StableDiffusionPipeline.load(dir, CpuBackend.INSTANCE, WeightDtype.FP32, "bf16");
        StableDiffusionPipeline reference = StableDiffusionPipeline.load(TestData.tinySd1());
        assertEquals(Bf16.ROUNDED, compare(pipe.textEncoder(), reference.textEncoder()));
        assertEquals(Bf16.ROUNDED, compare(pipe.unet(), reference.unet()));
        assertEquals(Bf16.EXACT, compare(pipe.vae(), reference.vae()));  // no bf16 VAE: its plain weights, warned
    }

    @Test
    void withoutAVariantThePlainWeightsOrTheOnlyVariantAreRead() {
        StableDiffusionPipeline pipe = StableDiffusionPipeline.load(dir, CpuBackend.INSTANCE, WeightDtype.FP32);
        StableDiffusionPipeline reference = StableDiffusionPipeline.load(TestData.tinySd1());
        assertEquals(Bf16.ROUNDED, compare(pipe.textEncoder(), reference.textEncoder()));  // its only weights
        assertEquals(Bf16.EXACT, compare(pipe.unet(), reference.unet()));
        assertEquals(Bf16.EXACT, compare(pipe.vae(), reference.vae()));
    }

    /** Round to nearest even, as the writer stores BF16 (the tiny model's weights are fp16 values already). */
    private static float bf16(float v) {
        int bits = Float.floatToRawIntBits(v);
        return Float.intBitsToFloat((bits + 0x7FFF + ((bits >>> 16) & 1)) & 0xFFFF0000);
    }

    private enum Bf16 { EXACT, ROUNDED }

    /** Whether every parameter of {@code loaded} equals the reference's, or equals it rounded to bf16 (and not both). */
    private static Bf16 compare(Module loaded, Module reference) {
        Map<String, Tensor> a = loaded.namedParameters();
        Map<String, Tensor> b = reference.namedParameters();
        assertEquals(b.keySet(), a.keySet());
        boolean exact = true;
        boolean rounded = true;
        for (String k : a.keySet()) {
            float[] x = a.get(k).toFloatArray();
            float[] y = b.get(k).toFloatArray();
            float[] yRounded = new float[y.length];
            for (int i = 0; i < y.length; i++) {
                yRounded[i] = bf16(y[i]);
            }
            exact &= java.util.Arrays.equals(x, y);
            rounded &= java.util.Arrays.equals(x, yRounded);
        }
        if (exact == rounded) {
            throw new AssertionError(exact ? "weights unaffected by bf16 rounding: the test shows nothing"
                    : "weights neither equal to the reference nor to it rounded to bf16");
        }
        return exact ? Bf16.EXACT : Bf16.ROUNDED;
    }
}
