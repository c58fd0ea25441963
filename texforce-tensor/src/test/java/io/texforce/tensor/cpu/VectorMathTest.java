package io.texforce.tensor.cpu;

import jdk.incubator.vector.FloatVector;
import jdk.incubator.vector.VectorSpecies;
import org.junit.jupiter.api.Test;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

class VectorMathTest {
    private static final VectorSpecies<Float> F = FloatVector.SPECIES_PREFERRED;

    @Test
    void expIsWithinTwoUlpOverTheWholeRange() {
        double worst = 0;
        float[] x = new float[F.length()], y = new float[F.length()];
        for (float v = -87f; v <= 88.5f; v += 0.0137f) {
            for (int i = 0; i < x.length; i++) {
                x[i] = v + i * 1e-3f;
            }
            VectorMath.exp(FloatVector.fromArray(F, x, 0)).intoArray(y, 0);
            for (int i = 0; i < x.length; i++) {
                double exact = Math.exp(x[i]);
                if (exact > Float.MAX_VALUE) {
                    continue;
                }
                worst = Math.max(worst, Math.abs(y[i] - exact) / Math.ulp((float) exact));
            }
        }
        System.out.printf("VectorMath.exp max error %.2f ulp%n", worst);
        assertTrue(worst <= 2.0, "max error " + worst + " ulp");
    }

    @Test
    void expHandlesInfinitiesNanAndTheEdges() {
        float[] x = new float[F.length()];
        float[] special = {Float.NEGATIVE_INFINITY, Float.POSITIVE_INFINITY, Float.NaN, -200f, 100f, 0f, -0f, 1f};
        for (int i = 0; i < x.length; i++) {
            x[i] = special[i % special.length];
        }
        float[] y = VectorMath.exp(FloatVector.fromArray(F, x, 0)).toArray();
        for (int i = 0; i < x.length; i++) {
            float want = (float) Math.exp(x[i]);
            if (Float.isFinite(want) && want != 0f) {
                assertEquals(want, y[i], Math.ulp(want) * 2, "exp(" + x[i] + ")");
            } else {
                assertEquals(want, y[i], "exp(" + x[i] + ")"); // inf, 0 and NaN exactly
            }
        }
    }

    @Test
    void sumAddsLanesInAFixedButterflyOrder() {
        float[] x = new float[F.length()];
        for (int i = 0; i < x.length; i++) {
            x[i] = (i % 2 == 0 ? 1e8f : 1f) * (i + 1);
        }
        // The documented order: pairwise sums of lanes i and i + n/2, then of those, and so on.
        float[] t = x.clone();
        for (int d = t.length / 2; d >= 1; d /= 2) {
            float[] next = new float[t.length];
            for (int i = 0; i < t.length; i++) {
                next[i] = t[i] + t[i ^ d];
            }
            t = next;
        }
        assertEquals(t[0], VectorMath.sum(FloatVector.fromArray(F, x, 0)), 0f);
        float plain = 0f;
        for (float v : x) {
            plain += v;
        }
        assertEquals(plain, VectorMath.sum(FloatVector.fromArray(F, x, 0)), Math.ulp(plain) * x.length);
    }
}
