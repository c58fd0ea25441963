package io.texforce.tensor.cpu;

import static org.junit.jupiter.api.Assertions.assertTrue;

import java.util.SplittableRandom;
import java.util.function.ToDoubleFunction;

/** Random inputs, parity assertions and finite-difference gradient checks for the CPU kernel tests. */
final class KernelChecks {
    private KernelChecks() {
    }

    /** Uniform values in [-amplitude, amplitude) + offset, reproducible from the seed. */
    static float[] random(long seed, int n, float amplitude, float offset) {
        var rnd = new SplittableRandom(seed);
        float[] a = new float[n];
        for (int i = 0; i < n; i++) {
            a[i] = (float) (rnd.nextDouble(-amplitude, amplitude) + offset);
        }
        return a;
    }

    static float[] random(long seed, int n) {
        return random(seed, n, 1f, 0f);
    }

    static double maxAbs(float[] a) {
        double m = 0;
        for (float v : a) {
            m = Math.max(m, Math.abs(v));
        }
        return m;
    }

    /**
     * Asserts max |expected - actual| <= relTol * max(1, max |expected|) and prints the measured error, so a
     * failing or drifting kernel shows by how much.
     */
    static double assertClose(String what, float[] expected, float[] actual, double relTol) {
        if (expected.length != actual.length) {
            throw new AssertionError(what + ": length " + actual.length + ", expected " + expected.length);
        }
        double err = 0;
        int at = -1;
        for (int i = 0; i < expected.length; i++) {
            double e = Math.abs((double) expected[i] - actual[i]);
            if (e > err || Double.isNaN(e)) {
                err = Double.isNaN(e) ? Double.POSITIVE_INFINITY : e;
                at = i;
            }
        }
        double magnitude = Math.max(1, maxAbs(expected));
        double bound = relTol * magnitude;
        System.out.printf("%-60s max abs err %.3e (max |ref| %.3e)%n", what, err, maxAbs(expected));
        final int worst = at;
        final double measured = err;
        assertTrue(err <= bound, () -> what + ": max abs error " + measured + " at index " + worst + " (expected "
                + expected[worst] + ", got " + actual[worst] + ") exceeds " + bound);
        return err;
    }

    /**
     * Checks an analytic gradient of {@code loss} with respect to {@code input} by central differences at every
     * element (keep the input small). The loss is evaluated with the input perturbed in place.
     */
    static void assertGradient(String what, float[] input, float[] analytic, ToDoubleFunction<float[]> loss,
                               float step, double tol) {
        double err = 0;
        for (int i = 0; i < input.length; i++) {
            float saved = input[i];
            input[i] = saved + step;
            float up = input[i];
            double plus = loss.applyAsDouble(input);
            input[i] = saved - step;
            float down = input[i];
            double minus = loss.applyAsDouble(input);
            input[i] = saved;
            double numeric = (plus - minus) / ((double) up - down);
            double e = Math.abs(numeric - analytic[i]);
            err = Math.max(err, e);
            final int at = i;
            assertTrue(e <= tol * Math.max(1, Math.abs(numeric)), () -> what + ": d/dx[" + at + "] analytic "
                    + analytic[at] + " vs numeric " + numeric + " (tolerance " + tol + ")");
        }
        System.out.printf("%-60s finite-difference max abs err %.3e%n", what, err);
    }

    /** sum(a * b) in double. */
    static double dot(float[] a, float[] b) {
        double s = 0;
        for (int i = 0; i < a.length; i++) {
            s += (double) a[i] * b[i];
        }
        return s;
    }
}
