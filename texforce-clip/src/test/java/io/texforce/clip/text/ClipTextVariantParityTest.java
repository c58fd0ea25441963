package io.texforce.clip.text;

import io.texforce.tensor.GradMode;
import io.texforce.tensor.Parity;
import io.texforce.tensor.Tensor;
import io.texforce.tensor.TestData;
import io.texforce.tensor.io.SafeTensors;
import org.junit.jupiter.api.Test;

import java.nio.file.Path;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

/**
 * A CLIP text encoder shaped as SD 2.x's (gelu, other widths and head counts) and saved by transformers 5 (keys
 * without the {@code text_model.} level), against transformers (testdata/config-variants, made by
 * tools/interop/make_config_variants.py).
 */
class ClipTextVariantParityTest {
    private static final Path DIR = TestData.root().resolve("config-variants");

    @Test
    void geluTextEncoderSavedByTransformers5MatchesTransformers() {
        ClipTextModel te = ClipTextModel.load(DIR.resolve("text-gelu"));
        assertEquals("gelu", te.config().hiddenAct());
        try (SafeTensors g = SafeTensors.open(DIR.resolve("golden.safetensors")); var noGrad = GradMode.noGrad()) {
            int[] flat = g.ints("text-gelu.in.input_ids");
            int[][] ids = new int[2][77];
            for (int i = 0; i < 2; i++) {
                System.arraycopy(flat, i * 77, ids[i], 0, 77);
            }
            Tensor last = te.forward(ids);
            double err = Parity.maxAbsDiff(last, g.tensor("text-gelu.out.last_hidden_state"));
            System.out.printf("text-gelu last_hidden_state max abs error %.3e%n", err);
            assertTrue(err < 1e-4, "max abs error " + err);
            Tensor penultimate = te.forward(ids, 1);
            double errSkip = Parity.maxAbsDiff(penultimate, g.tensor("text-gelu.out.penultimate_normed"));
            System.out.printf("text-gelu clip skip 1 max abs error %.3e%n", errSkip);
            assertTrue(errSkip < 1e-4, "max abs error " + errSkip);
        }
    }
}
