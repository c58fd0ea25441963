package io.texforce.rewards.clip;

import io.texforce.tensor.Tensor;
import io.texforce.tensor.TestData;
import io.texforce.tensor.io.SafeTensors;

import java.nio.file.Path;
import java.util.List;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

/** The tiny-clip fixture's goldens and comparison helpers shared by the CLIP tests. */
public final class TinyClipGolden {
    public static final List<String> PROMPTS = List.of("a photo of a cat", "an impressionist painting of a dog",
            "A green colored rabbit.");

    private TinyClipGolden() {
    }

    public static Path dir() {
        return TestData.tinyClip();
    }

    public static Tensor tensor(String key) {
        try (SafeTensors g = SafeTensors.open(dir().resolve("golden/golden.safetensors"))) {
            return g.tensor(key);
        }
    }

    public static int[][] inputIds() {
        try (SafeTensors g = SafeTensors.open(dir().resolve("golden/golden.safetensors"))) {
            return g.intRows("input_ids");
        }
    }

    /** The raw 8-bit image {@code images.<name>}. */
    public static Rgb8Image image(String name) {
        try (SafeTensors g = SafeTensors.open(dir().resolve("golden/golden.safetensors"))) {
            String key = "images." + name;
            int[] s = g.info(key).shape();
            return new Rgb8Image(s[0], s[1], g.bytes(key));
        }
    }

    /** Asserts equal shapes and a max abs difference within {@code tol}; prints and returns the difference. */
    public static double assertClose(String what, Tensor expected, Tensor actual, double tol) {
        assertArrayEquals(expected.shape(), actual.shape(), what + " shape");
        float[] e = expected.contiguous().toFloatArray(), a = actual.contiguous().toFloatArray();
        double max = 0;
        for (int i = 0; i < e.length; i++) {
            max = Math.max(max, Math.abs(e[i] - a[i]));
        }
        System.out.printf("%-40s max abs error %.3e%n", what, max);
        assertTrue(max <= tol, what + ": max abs error " + max + " > " + tol);
        return max;
    }
}
