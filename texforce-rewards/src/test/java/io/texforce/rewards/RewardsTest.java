package io.texforce.rewards;

import io.texforce.rewards.clip.Rgb8Image;
import io.texforce.rewards.clip.TinyClipGolden;
import io.texforce.tensor.Tensor;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.Collections;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;

import static io.texforce.rewards.clip.TinyClipGolden.PROMPTS;
import static io.texforce.rewards.clip.TinyClipGolden.assertClose;
import static io.texforce.rewards.clip.TinyClipGolden.tensor;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

/** The CLIP rewards built by name reproduce the fixture's goldens from raw images. */
class RewardsTest {
    private static final Path HF = TinyClipGolden.dir().resolve("hf");
    private static final Path HEAD = TinyClipGolden.dir().resolve("aesthetic_mlp.pth");
    private static final double TOL = 1e-4;

    /** The raw image as the [copies, 3, H, W] batch in [0, 1] that a sampler would hand over. */
    private static Tensor batch(String raw, int copies) {
        Rgb8Image img = TinyClipGolden.image(raw);
        int h = img.height(), w = img.width();
        float[] d = new float[3 * h * w];
        for (int c = 0; c < 3; c++) {
            for (int i = 0; i < h * w; i++) {
                d[c * h * w + i] = (img.pixels()[i * 3 + c] & 0xFF) / 255f;
            }
        }
        Tensor one = Tensor.of(d, 1, 3, h, w);
        return Tensor.concat(Collections.nCopies(copies, one), 0);
    }

    private static RewardFactory factory(Path model, Path head, Map<String, Float> weights) {
        return new RewardFactory(new RewardOptions(model, head, null, weights));
    }

    private static Tensor vector(float[] v) {
        return Tensor.of(v, v.length);
    }

    @Test
    void aestheticScoresTheRawImagesAsTheGolden() {
        try (Reward r = factory(HF, HEAD, Map.of()).create("aesthetic")) {
            float[] golden = tensor("aesthetic.score").toFloatArray();
            float[] s = {r.score(batch("raw_0", 1), List.of("x"))[0], r.score(batch("raw_1", 1), List.of("y"))[0]};
            assertClose("aesthetic reward from raw images", vector(golden), vector(s), TOL);
        }
    }

    @Test
    void clipScoreAndPickScoreAreScaledCosines() {
        RewardFactory f = factory(HF, null, Map.of());
        Tensor images = batch("raw_0", 3);
        float[] cos = f.create("clip-score").score(images, PROMPTS);
        assertClose("clip-score image 0 vs prompts", tensor("cosine.image0_vs_texts"), vector(cos), TOL);
        float[] pick = f.create("pickscore").score(images, PROMPTS);
        assertClose("pickscore image 0 vs prompts", tensor("logits_per_image").select(0, 0), vector(pick), TOL);
    }

    @Test
    void hpsV2ReadsAnOpenClipCheckpointBesideItsConfigAndTokenizer(@TempDir Path tmp) throws IOException {
        Path weights = Files.copy(TinyClipGolden.dir().resolve("open_clip_model.pt"), tmp.resolve("hps.pt"));
        Files.copy(TinyClipGolden.dir().resolve("open_clip_config.json"), tmp.resolve("hps_config.json"));
        for (String f : List.of("vocab.json", "merges.txt")) {
            Files.copy(HF.resolve(f), tmp.resolve(f));
        }
        float[] s = factory(weights, null, Map.of()).create("hpsv2").score(batch("raw_square", 3), PROMPTS);
        assertClose("hpsv2 square image vs prompts", tensor("square.cosine_vs_texts"), vector(s), TOL);
    }

    @Test
    void weightedSumsItsTermsAndPropagatesNaN() {
        Map<String, Float> w = new LinkedHashMap<>();
        w.put("aesthetic", 2f);
        w.put("jpeg-compressibility", 0.5f);
        RewardFactory f = factory(HF, HEAD, w);
        Reward weighted = f.create("weighted");
        assertEquals("2*aesthetic+0.5*jpeg-compressibility", weighted.name());
        Tensor images = batch("raw_square", 2);
        List<String> prompts = List.of("a", "b");
        float[] a = f.create("aesthetic").score(images, prompts);
        float[] j = JpegSize.compressibility().score(images, prompts);
        float[] s = weighted.score(images, prompts);
        for (int i = 0; i < 2; i++) {
            assertEquals(2 * a[i] + 0.5f * j[i], s[i], 1e-5f);
        }

        Reward fixed = new FixedReward("fixed", new float[]{1f, 2f});
        Reward partial = new FixedReward("partial", new float[]{Float.NaN, 4f});
        float[] mixed = new WeightedSum(List.of(new WeightedSum.Term(fixed, 1f), new WeightedSum.Term(partial, -0.25f)))
                .score(images, prompts);
        assertTrue(Float.isNaN(mixed[0]));
        assertEquals(1f, mixed[1]);
    }

    private record FixedReward(String name, float[] scores) implements Reward {
        @Override
        public float[] score(Tensor images, List<String> prompts) {
            return scores.clone();
        }
    }

    @Test
    void missingOptionsAndUnknownNamesAreExplained() {
        RewardFactory f = factory(HF, null, Map.of());
        assertTrue(assertThrows(IllegalArgumentException.class, () -> f.create("aesthetic")).getMessage()
                .contains("--aesthetic-head"));
        assertTrue(assertThrows(IllegalArgumentException.class, () -> f.create("http")).getMessage()
                .contains("--reward-url"));
        assertTrue(assertThrows(IllegalArgumentException.class, () -> f.create("weighted")).getMessage()
                .contains("--reward-weight"));
        String unknown = assertThrows(IllegalArgumentException.class, () -> f.create("imagereward")).getMessage();
        assertTrue(unknown.contains("'imagereward'") && unknown.contains("pickscore"), unknown);
    }
}
