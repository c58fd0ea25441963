package io.texforce.tensor.cpu;

import static org.junit.jupiter.api.Assertions.assertTrue;

import io.texforce.tensor.UnaryOp;
import java.util.SplittableRandom;
import java.util.function.DoubleUnaryOperator;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.EnumSource;

class ActivationKernelsTest {
    /**
     * Each element must satisfy |actual - exact| <= REL * |exact| + floor. The floor matters only where the exact
     * value is far below the float rounding of the terms it is computed from: values under 1e-20 in the far tail
     * of GELU, and the derivatives 1 - tanh^2, s (1 - s) and Phi + x phi, which cancel in any float formula (the
     * scalar kernels included) and stay within 1e-7 of the exact value in absolute terms.
     */
    private static final double REL = 1e-6;
    private static final double VALUE_FLOOR = 1e-20;
    private static final double GRADIENT_FLOOR = 1e-7;

    private static final double SQRT2 = Math.sqrt(2);

    /** Inputs over the range activations see, plus the far tails, zero and an odd length for the scalar tail. */
    private static float[] inputs() {
        var rnd = new SplittableRandom(7);
        float[] x = new float[4099];
        for (int i = 0; i < x.length; i++) {
            x[i] = (float) (i % 3 == 0 ? rnd.nextDouble(-12, 12) : rnd.nextGaussian() * 2);
        }
        x[0] = 0f;
        x[1] = -0f;
        x[2] = 30f;
        x[3] = -30f;
        x[4] = 1e-8f;
        return x;
    }

    /** Exact values in double: the references the SIMD kernels must match to float precision. */
    private static DoubleUnaryOperator exact(UnaryOp op, float p) {
        return switch (op) {
            case NEG -> v -> -v;
            case EXP -> Math::exp;
            case SQUARE -> v -> v * v;
            case ABS -> Math::abs;
            case RELU -> v -> Math.max(v, 0);
            case TANH -> Math::tanh;
            case SIGMOID -> v -> 1 / (1 + Math.exp(-v));
            case SILU -> v -> v / (1 + Math.exp(-v));
            case GELU -> v -> 0.5 * v * erfc(-v / SQRT2);
            case ADD_SCALAR -> v -> v + p;
            case MUL_SCALAR -> v -> v * p;
            default -> throw new IllegalArgumentException(op.name());
        };
    }

    private static DoubleUnaryOperator exactGrad(UnaryOp op, float p) {
        return switch (op) {
            case NEG -> v -> -1;
            case EXP -> Math::exp;
            case SQUARE -> v -> 2 * v;
            case ABS -> Math::signum;
            case RELU -> v -> v > 0 ? 1 : 0;
            case TANH -> v -> 1 - Math.tanh(v) * Math.tanh(v);
            case SIGMOID -> v -> Math.exp(-v) / ((1 + Math.exp(-v)) * (1 + Math.exp(-v)));
            case SILU -> v -> {
                double s = 1 / (1 + Math.exp(-v));
                return s + v * s * (1 - s);
            };
            case GELU -> v -> 0.5 * erfc(-v / SQRT2) + v * Math.exp(-0.5 * v * v) / Math.sqrt(2 * Math.PI);
            case ADD_SCALAR -> v -> 1;
            case MUL_SCALAR -> v -> p;
            default -> throw new IllegalArgumentException(op.name());
        };
    }

    /** erfc in double by its continued fraction / series: an independent reference for the fitted erf. */
    private static double erfc(double x) {
        if (x < 0) {
            return 2 - erfc(-x);
        }
        if (x < 2) {
            // erf(x) = 2/sqrt(pi) * sum (-1)^n x^(2n+1) / (n! (2n+1)), converged well below 1e-16 for x < 2.
            double sum = 0, term = x;
            for (int n = 0; n < 60; n++) {
                sum += term / (2 * n + 1);
                term *= -x * x / (n + 1);
            }
            return 1 - 2 / Math.sqrt(Math.PI) * sum;
        }
        // Lentz continued fraction erfc(x) = exp(-x^2)/sqrt(pi) * 1/(x + 1/2/(x + 1/(x + 3/2/(x + ...)))).
        double f = x;
        for (int k = 80; k >= 1; k--) {
            f = x + (k / 2.0) / f;
        }
        return Math.exp(-x * x) / Math.sqrt(Math.PI) / f;
    }

    @ParameterizedTest(name = "{0}")
    @EnumSource(value = UnaryOp.class, names = {"NEG", "EXP", "SQUARE", "ABS", "RELU", "SIGMOID", "SILU",
            "GELU", "ADD_SCALAR", "MUL_SCALAR"})
    void forwardMatchesExactValues(UnaryOp op) {
        float[] x = inputs();
        float[] y = new float[x.length];
        ActivationKernels.forward(op, 0.75f, x, y, 0, x.length);
        assertRelative(op + " forward", x, y, v -> exact(op, 0.75f).applyAsDouble(v));
    }

    @ParameterizedTest(name = "{0}")
    @EnumSource(value = UnaryOp.class, names = {"NEG", "EXP", "SQUARE", "ABS", "RELU", "SIGMOID", "SILU",
            "GELU", "ADD_SCALAR", "MUL_SCALAR"})
    void backwardMatchesExactDerivatives(UnaryOp op) {
        float[] x = inputs();
        float[] g = new float[x.length];
        for (int i = 0; i < g.length; i++) {
            g[i] = 1f - (i % 5) * 0.5f;
        }
        float[] gx = new float[x.length];
        ActivationKernels.backward(op, 0.75f, g, x, gx, 0, x.length);
        DoubleUnaryOperator d = exactGrad(op, 0.75f);
        double err = 0;
        for (int i = 0; i < x.length; i++) {
            double ref = g[i] * d.applyAsDouble(x[i]);
            err = Math.max(err, relError(ref, gx[i], GRADIENT_FLOOR));
        }
        System.out.printf("%-30s max scaled err %.3e%n", op + " backward", err);
        assertTrue(err <= REL, op + " backward: relative error " + err);
    }

    @Test
    void gegluAndItsGradientMatchExactValues() {
        int rows = 3, h = 37;
        float[] x = new float[rows * 2 * h];
        float[] in = inputs();
        System.arraycopy(in, 0, x, 0, x.length);
        float[] gy = new float[rows * h];
        for (int i = 0; i < gy.length; i++) {
            gy[i] = 0.25f * (i % 7) - 0.5f;
        }
        float[] y = new float[rows * h], gx = new float[x.length];
        ActivationKernels.geglu(x, y, h, 0, rows);
        ActivationKernels.gegluBackward(gy, x, gx, h, 0, rows);
        DoubleUnaryOperator gelu = exact(UnaryOp.GELU, 0), geluGrad = exactGrad(UnaryOp.GELU, 0);
        double err = 0;
        for (int r = 0; r < rows; r++) {
            for (int i = 0; i < h; i++) {
                double hv = x[r * 2 * h + i], gate = x[r * 2 * h + h + i], g = gy[r * h + i];
                err = Math.max(err, relError(hv * gelu.applyAsDouble(gate), y[r * h + i], VALUE_FLOOR));
                err = Math.max(err, relError(g * gelu.applyAsDouble(gate), gx[r * 2 * h + i], GRADIENT_FLOOR));
                err = Math.max(err, relError(g * hv * geluGrad.applyAsDouble(gate), gx[r * 2 * h + h + i], GRADIENT_FLOOR));
            }
        }
        System.out.printf("%-30s max scaled err %.3e%n", "geglu forward/backward", err);
        assertTrue(err <= REL, "geglu: relative error " + err);
    }

    @Test
    void kernelsRespectTheirRange() {
        float[] x = inputs();
        float[] y = new float[x.length];
        ActivationKernels.forward(UnaryOp.SILU, 0f, x, y, 5, 23);
        for (int i = 0; i < x.length; i++) {
            boolean inside = i >= 5 && i < 23;
            assertTrue(inside ? y[i] != 0f || x[i] == 0f : y[i] == 0f, "element " + i + " written: " + y[i]);
        }
    }

    private static void assertRelative(String what, float[] x, float[] y, DoubleUnaryOperator ref) {
        double err = 0;
        int at = -1;
        for (int i = 0; i < x.length; i++) {
            double e = relError(ref.applyAsDouble(x[i]), y[i], VALUE_FLOOR);
            if (e > err || Double.isNaN(e)) {
                err = Double.isNaN(e) ? Double.POSITIVE_INFINITY : e;
                at = i;
            }
        }
        System.out.printf("%-30s max scaled err %.3e%n", what, err);
        int worst = at;
        double measured = err;
        assertTrue(err <= REL, () -> what + ": relative error " + measured + " at x = " + x[worst] + " (got "
                + y[worst] + ", expected " + ref.applyAsDouble(x[worst]) + ")");
    }

    /** The error as a relative error: REL when |actual - expected| = REL |expected| + floor; 0 for matching overflow. */
    private static double relError(double expected, float actual, double floor) {
        if (Math.abs(expected) > Float.MAX_VALUE) {
            return Float.isInfinite(actual) && Math.signum(actual) == Math.signum(expected) ? 0 : Double.POSITIVE_INFINITY;
        }
        return Math.abs(actual - expected) / (REL * Math.abs(expected) + floor) * REL;
    }
}
