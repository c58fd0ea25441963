package io.texforce.tensor;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;

/** Error measures for parity tests against golden tensors. */
public final class Parity {
    private Parity() {
    }

    /** The largest absolute elementwise difference; the shapes must match. */
    public static double maxAbsDiff(Tensor actual, Tensor expected) {
        assertArrayEquals(expected.shape(), actual.shape(), "shape");
        return maxAbsDiff(actual.toFloatArray(), expected.toFloatArray());
    }

    public static double maxAbsDiff(float[] actual, float[] expected) {
        assertEquals(expected.length, actual.length, "element count");
        double m = 0;
        for (int i = 0; i < actual.length; i++) {
            m = Math.max(m, Math.abs(actual[i] - expected[i]));
        }
        return m;
    }
}
