package io.texforce.tensor.nn;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import io.texforce.tensor.GradMode;
import io.texforce.tensor.Tensor;
import io.texforce.tensor.WeightDtype;
import java.util.SplittableRandom;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.EnumSource;

/** Merging a LoRA into a 16-bit base weight rounds each merged element once, to nearest even. */
class HalfWeightLoraMergeTest {
    private static Tensor random(SplittableRandom rnd, float scale, int... shape) {
        float[] d = new float[shape[0] * shape[1]];
        for (int i = 0; i < d.length; i++) {
            d[i] = (float) (rnd.nextGaussian() * scale);
        }
        return Tensor.of(d, shape);
    }

    @ParameterizedTest
    @EnumSource(value = WeightDtype.class, names = {"BF16", "FP16"})
    void mergeRoundsTheSumAndUnmergeComesBackWithinRounding(WeightDtype dtype) {
        var rnd = new SplittableRandom(4);
        Tensor w = random(rnd, 0.05f, 24, 16).to(dtype);
        Linear linear = new Linear(w, null);
        Tensor down = random(rnd, 0.1f, 4, 16), up = random(rnd, 0.1f, 24, 4);
        linear.lora().add(new LoraAdapter("a", down, up, 8f, 0.7f), "layer");
        float[] before = w.toFloatArray();
        Tensor x = random(rnd, 1f, 5, 16);
        float[] unmergedOut;
        try (var g = GradMode.noGrad()) {
            unmergedOut = linear.forward(x).toFloatArray();
            float[] delta = linear.lora().get("a").delta().toFloatArray();
            linear.lora().merge("a");
            assertEquals(dtype, linear.weight().dtype());
            float[] merged = linear.weight().toFloatArray();
            for (int i = 0; i < merged.length; i++) {
                assertEquals(dtype.round(before[i] + delta[i]), merged[i], 0f, "element " + i);
            }
            float[] mergedOut = linear.forward(x).toFloatArray();
            double outErr = 0;
            for (int i = 0; i < mergedOut.length; i++) {
                outErr = Math.max(outErr, Math.abs(mergedOut[i] - unmergedOut[i]));
            }
            linear.lora().unmerge("a");
            float[] restored = linear.weight().toFloatArray();
            double wErr = 0, ulps = 0;
            for (int i = 0; i < restored.length; i++) {
                double err = Math.abs(restored[i] - before[i]);
                wErr = Math.max(wErr, err);
                // One rounding of the merged value and one of the restored value: at most one unit in the last place.
                double ulp = Math.ulp(dtype.round(Math.abs(before[i]) + Math.abs(delta[i]))) * (dtype == WeightDtype.BF16
                        ? 1 << 16 : 1 << 13);
                if (dtype == WeightDtype.FP16) {
                    ulp = Math.max(ulp, 0x1p-24);
                }
                ulps = Math.max(ulps, err / ulp);
            }
            System.out.printf("%s LoRA merge: output change %.3g; after unmerge max weight error %.3g (%.2f ulp)%n",
                    dtype.cliName(), outErr, wErr, ulps);
            assertTrue(ulps <= 1.0, "unmerge error " + ulps + " ulp");
            assertTrue(outErr < (dtype == WeightDtype.BF16 ? 2e-2 : 3e-3), "merged output change " + outErr);
            assertArrayEquals(unmergedOut, linear.forward(x).toFloatArray(), dtype == WeightDtype.BF16 ? 2e-2f : 3e-3f);
        }
    }
}
