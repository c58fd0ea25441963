package io.texforce.clip.text;

import static org.junit.jupiter.api.Assertions.assertTrue;

import io.texforce.tensor.GradMode;
import io.texforce.tensor.Parity;
import io.texforce.tensor.TestData;
import io.texforce.tensor.Tensor;
import io.texforce.tensor.WeightDtype;
import io.texforce.tensor.cpu.CpuBackend;
import io.texforce.tensor.io.SafeTensors;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.CsvSource;

/**
 * The text encoder with 16-bit weights against the float32 golden of transformers. The tolerance is relative to
 * the largest golden value: bf16 keeps 8 significant bits (relative rounding 2^-9), fp16 11 (2^-12), and the
 * errors of a dozen layers add up to a few times that.
 */
class HalfWeightParityTest {
    static SafeTensors golden;
    static int[][] ids;

    @BeforeAll
    static void load() {
        golden = SafeTensors.open(TestData.tinySd1().resolve("golden/golden.safetensors"));
        ids = golden.intRows("tokens.input_ids");
    }

    @AfterAll
    static void close() {
        golden.close();
    }

    @ParameterizedTest
    @CsvSource({"BF16, 1e-2", "FP16, 2e-3"})
    void lastHiddenStateStaysCloseToTransformers(WeightDtype dtype, double relativeTolerance) {
        ClipTextModel model = ClipTextModel.load(TestData.tinySd1(), CpuBackend.INSTANCE, dtype);
        assertTrue(model.namedParameters().get("text_model.encoder.layers.0.self_attn.q_proj.weight").dtype() == dtype);
        try (var g = GradMode.noGrad()) {
            Tensor want = golden.tensor("text_encoder.last_hidden_state");
            double err = Parity.maxAbsDiff(model.forward(ids), want);
            double scale = Parity.maxAbsDiff(want, want.zerosLike());
            System.out.printf("text_encoder.last_hidden_state with %s weights: max abs error %.3e (%.3e of max |value|"
                    + " %.3f)%n", dtype.cliName(), err, err / scale, scale);
            assertTrue(err / scale < relativeTolerance, "relative error " + err / scale);
        }
    }
}
