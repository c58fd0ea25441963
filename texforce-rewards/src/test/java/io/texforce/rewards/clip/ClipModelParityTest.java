package io.texforce.rewards.clip;

import io.texforce.clip.tokenizer.ClipTokenizer;
import io.texforce.tensor.GradMode;
import io.texforce.tensor.Tensor;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.ValueSource;

import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;

import static io.texforce.rewards.clip.TinyClipGolden.assertClose;
import static io.texforce.rewards.clip.TinyClipGolden.tensor;
import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

/** The tiny CLIP from every layout and file format reproduces OpenAI CLIP's outputs. */
class ClipModelParityTest {
    private static final double TOL = 1e-4;

    private static ClipModel load(String layout) {
        Path dir = TinyClipGolden.dir();
        return switch (layout) {
            case "transformers" -> ClipModel.load(dir.resolve("hf"));
            case "open_clip.safetensors" -> ClipModel.load(dir.resolve("open_clip_model.safetensors"));
            case "open_clip.pt" -> ClipModel.loadOpenClip(dir.resolve("open_clip_model.pt"),
                    ClipModelConfig.loadOpenClip(dir.resolve("open_clip_config.json")));
            default -> throw new IllegalArgumentException(layout);
        };
    }

    @ParameterizedTest
    @ValueSource(strings = {"transformers", "open_clip.safetensors", "open_clip.pt"})
    void reproducesGoldenEmbeddingsLogitsAndAestheticScore(String layout) {
        ClipModel model = load(layout);
        try (var g = GradMode.noGrad()) {
            Tensor image = model.imageEmbeds(tensor("pixel_values"));
            Tensor text = model.textEmbeds(TinyClipGolden.inputIds());
            assertClose(layout + " image_embeds", tensor("image_embeds"), image, TOL);
            assertClose(layout + " text_embeds", tensor("text_embeds"), text, TOL);
            assertClose(layout + " logits_per_image", tensor("logits_per_image"), model.logitsPerImage(image, text),
                    TOL);
            Tensor cosine = Tensor.matmul(ClipModel.normalize(image.narrow(0, 0, 1)), ClipModel.normalize(text), false,
                    true).reshape(-1);
            assertClose(layout + " cosine.image0_vs_texts", tensor("cosine.image0_vs_texts"), cosine, TOL);

            Tensor squareImage = model.imageEmbeds(tensor("square.pixel_values"));
            assertClose(layout + " square.image_embeds", tensor("square.image_embeds"), squareImage, TOL);
            Tensor squareCos = Tensor.matmul(ClipModel.normalize(squareImage), ClipModel.normalize(text), false, true)
                    .reshape(-1);
            assertClose(layout + " square.cosine_vs_texts", tensor("square.cosine_vs_texts"), squareCos, TOL);

            for (String head : new String[]{"aesthetic_mlp.safetensors", "aesthetic_mlp.pth"}) {
                AestheticHead h = AestheticHead.load(TinyClipGolden.dir().resolve(head));
                assertClose(layout + " aesthetic.score (" + head + ")", tensor("aesthetic.score"),
                        h.forward(ClipModel.normalize(image)), TOL);
            }
        }
    }

    @Test
    void bothLayoutsHoldTheSameWeights() {
        var hf = load("transformers").namedParameters();
        var oc = load("open_clip.safetensors").namedParameters();
        assertEquals(hf.keySet(), oc.keySet());
        for (var e : hf.entrySet()) {
            assertArrayEquals(e.getValue().toFloatArray(), oc.get(e.getKey()).contiguous().toFloatArray(), 0f,
                    e.getKey());
        }
    }

    @Test
    void configsDescribeTheTinyModel() {
        ClipModelConfig hf = load("transformers").config();
        ClipModelConfig oc = ClipModelConfig.loadOpenClip(TinyClipGolden.dir().resolve("open_clip_config.json"));
        for (ClipModelConfig c : new ClipModelConfig[]{hf, oc}) {
            assertEquals(16, c.projectionDim());
            assertEquals(128, c.vision().hiddenSize());
            assertEquals(2, c.vision().numAttentionHeads());
            assertEquals(512, c.vision().intermediateSize());
            assertEquals(4, c.text().numAttentionHeads());
            assertEquals("quick_gelu", c.vision().hiddenAct());
            assertTrue(c.poolAtArgmax());
        }
        ClipModelConfig h14 = ClipModelConfig.openClipPreset("ViT-H-14");
        assertEquals(16, h14.vision().numAttentionHeads());
        assertEquals(5120, h14.vision().intermediateSize());
        assertEquals("gelu", h14.text().hiddenAct());
        assertEquals(1024, h14.projectionDim());
    }

    @Test
    void tokenizerReproducesTheGoldenIdsWithOpenAiPadding() {
        ClipTokenizer tok = ClipTokenizer.load(TinyClipGolden.dir().resolve("hf")).withPadId(0);
        int[][] golden = TinyClipGolden.inputIds();
        int[][] ids = tok.tokenize(TinyClipGolden.PROMPTS);
        for (int i = 0; i < golden.length; i++) {
            assertArrayEquals(golden[i], ids[i], "prompt " + i);
        }
        // Pooling at the argmax finds the EOS whether padding is 0 or the EOS itself.
        ClipModel model = load("transformers");
        int[][] eosPadded = ClipTokenizer.load(TinyClipGolden.dir().resolve("hf")).tokenize(TinyClipGolden.PROMPTS);
        for (int i = 0; i < golden.length; i++) {
            assertEquals(model.poolPosition(golden[i]), model.poolPosition(eosPadded[i]));
        }
    }

    @Test
    void missingOpenClipConfigIsNamed(@TempDir Path tmp) throws IOException {
        Path weights = Files.copy(TinyClipGolden.dir().resolve("open_clip_model.safetensors"), tmp.resolve("m.safetensors"));
        var e = assertThrows(IllegalArgumentException.class, () -> ClipModel.load(weights));
        assertTrue(e.getMessage().contains("m_config.json or open_clip_config.json"), e.getMessage());
        Files.copy(TinyClipGolden.dir().resolve("open_clip_config.json"), tmp.resolve("m_config.json"));
        assertEquals(16, ClipModel.load(weights).config().projectionDim());
    }
}
