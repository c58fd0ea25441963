package io.texforce.clip.text;

import io.texforce.tensor.GradMode;
import io.texforce.tensor.Tensor;
import io.texforce.tensor.Parity;
import io.texforce.tensor.TestData;
import io.texforce.tensor.io.SafeTensors;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

/** The text encoder against transformers' CLIPTextModel outputs on the tiny-sd1 fixture. */
class ClipTextModelParityTest {
    static ClipTextModel model;
    static SafeTensors golden;
    static int[][] ids;

    @BeforeAll
    static void load() {
        model = ClipTextModel.load(TestData.tinySd1());
        golden = SafeTensors.open(TestData.tinySd1().resolve("golden/golden.safetensors"));
        ids = golden.intRows("tokens.input_ids");
    }

    static double maxAbsDiff(Tensor a, Tensor b) {
        return Parity.maxAbsDiff(a, b);
    }

    @Test
    void lastHiddenStateMatchesTransformers() {
        try (var g = GradMode.noGrad()) {
            double err = maxAbsDiff(model.forward(ids), golden.tensor("text_encoder.last_hidden_state"));
            System.out.printf("text_encoder.last_hidden_state max abs error %.3e%n", err);
            assertTrue(err < 1e-4, "max abs error " + err);
        }
    }

    @Test
    void penultimateLayerMatchesClipSkip1() {
        try (var g = GradMode.noGrad()) {
            double err = maxAbsDiff(model.forward(ids, 1), golden.tensor("text_encoder.penultimate_normed"));
            System.out.printf("text_encoder.penultimate_normed max abs error %.3e%n", err);
            assertTrue(err < 1e-4, "max abs error " + err);
        }
    }
}
