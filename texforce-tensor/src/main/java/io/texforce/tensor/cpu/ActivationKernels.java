package io.texforce.tensor.cpu;

import io.texforce.tensor.UnaryOp;
import jdk.incubator.vector.FloatVector;
import jdk.incubator.vector.VectorMask;
import jdk.incubator.vector.VectorOperators;
import jdk.incubator.vector.VectorSpecies;

/**
 * SIMD kernels for the activations of diffusion models (SiLU, sigmoid, exact GELU, exp, tanh) and their
 * derivatives, over float ranges. Exponentials come from {@link VectorMath#exp} (about 2 ulp, and bit-identical
 * compiled or interpreted); the error function follows {@link ScalarMath#erf}'s fit in float arithmetic, so each result stays
 * within a few float ulps of the scalar reference in {@link ScalarMath}.
 *
 * <p>Every method handles {@code [from, to)} and finishes the tail with the scalar formulas.
 */
final class ActivationKernels {
    private static final VectorSpecies<Float> F = FloatVector.SPECIES_PREFERRED;
    private static final float INV_SQRT2 = 0.70710678f;
    private static final float INV_SQRT_2PI = 0.39894228f;
    private static final FloatVector ONE = FloatVector.broadcast(F, 1f);

    private ActivationKernels() {
    }

    /** Whether {@link #forward} and {@link #backward} have a SIMD kernel for {@code op}. */
    static boolean supports(UnaryOp op) {
        return switch (op) {
            // TANH stays scalar: a vector tanh built from exp loses relative precision near 0, and the JDK's
            // intrinsic is not bit-identical to its own interpreted fallback (see VectorMath).
            case NEG, EXP, SQUARE, ABS, RELU, SIGMOID, SILU, GELU, ADD_SCALAR, MUL_SCALAR -> true;
            default -> false;
        };
    }

    /** o[i] = op(a[i]) for a supported op. */
    static void forward(UnaryOp op, float p, float[] a, float[] o, int from, int to) {
        int i = from, bound = from + F.loopBound(to - from);
        for (; i < bound; i += F.length()) {
            var x = FloatVector.fromArray(F, a, i);
            var y = switch (op) {
                case NEG -> x.neg();
                case EXP -> VectorMath.exp(x);
                case SQUARE -> x.mul(x);
                case ABS -> x.abs();
                case RELU -> x.max(0f);
                case SIGMOID -> sigmoid(x);
                case SILU -> x.mul(sigmoid(x));
                case GELU -> gelu(x);
                case ADD_SCALAR -> x.add(p);
                case MUL_SCALAR -> x.mul(p);
                default -> throw unsupported(op);
            };
            y.intoArray(o, i);
        }
        for (; i < to; i++) {
            float x = a[i];
            o[i] = switch (op) {
                case NEG -> -x;
                case EXP -> (float) Math.exp(x);
                case SQUARE -> x * x;
                case ABS -> Math.abs(x);
                case RELU -> Math.max(x, 0f);
                case TANH -> (float) Math.tanh(x);
                case SIGMOID -> ScalarMath.sigmoid(x);
                case SILU -> x * ScalarMath.sigmoid(x);
                case GELU -> ScalarMath.gelu(x);
                case ADD_SCALAR -> x + p;
                case MUL_SCALAR -> x * p;
                default -> throw unsupported(op);
            };
        }
    }

    /** o[i] = g[i] * op'(a[i]) for a supported op. */
    static void backward(UnaryOp op, float p, float[] g, float[] a, float[] o, int from, int to) {
        int i = from, bound = from + F.loopBound(to - from);
        for (; i < bound; i += F.length()) {
            var x = FloatVector.fromArray(F, a, i);
            var d = switch (op) {
                case NEG -> FloatVector.broadcast(F, -1f);
                case EXP -> VectorMath.exp(x);
                case SQUARE -> x.add(x);
                case ABS -> FloatVector.zero(F).blend(1f, x.compare(VectorOperators.GT, 0f))
                        .blend(-1f, x.compare(VectorOperators.LT, 0f));
                case RELU -> FloatVector.zero(F).blend(1f, x.compare(VectorOperators.GT, 0f));
                case SIGMOID -> {
                    var s = sigmoid(x);
                    yield s.mul(s.neg().add(1f));
                }
                case SILU -> {
                    var s = sigmoid(x);
                    yield x.mul(s).mul(s.neg().add(1f)).add(s);
                }
                case GELU -> geluGrad(x);
                case ADD_SCALAR -> FloatVector.broadcast(F, 1f);
                case MUL_SCALAR -> FloatVector.broadcast(F, p);
                default -> throw unsupported(op);
            };
            FloatVector.fromArray(F, g, i).mul(d).intoArray(o, i);
        }
        for (; i < to; i++) {
            o[i] = g[i] * scalarGrad(op, p, a[i]);
        }
    }

    /** o[r, i] = x[r, i] * gelu(x[r, h + i]) for rows [from, to) of x [rows, 2h]. */
    static void geglu(float[] x, float[] o, int h, int from, int to) {
        int bound = F.loopBound(h);
        for (int r = from; r < to; r++) {
            int xr = r * 2 * h, or = r * h;
            int i = 0;
            for (; i < bound; i += F.length()) {
                var gate = FloatVector.fromArray(F, x, xr + h + i);
                FloatVector.fromArray(F, x, xr + i).mul(gelu(gate)).intoArray(o, or + i);
            }
            for (; i < h; i++) {
                o[or + i] = x[xr + i] * ScalarMath.gelu(x[xr + h + i]);
            }
        }
    }

    /** Gradient of {@link #geglu} for rows [from, to): gx [rows, 2h] from gy [rows, h]. */
    static void gegluBackward(float[] gy, float[] x, float[] gx, int h, int from, int to) {
        int bound = F.loopBound(h);
        for (int r = from; r < to; r++) {
            int xr = r * 2 * h, gr = r * h;
            int i = 0;
            for (; i < bound; i += F.length()) {
                var hv = FloatVector.fromArray(F, x, xr + i);
                var gate = FloatVector.fromArray(F, x, xr + h + i);
                var g = FloatVector.fromArray(F, gy, gr + i);
                g.mul(gelu(gate)).intoArray(gx, xr + i);
                g.mul(hv).mul(geluGrad(gate)).intoArray(gx, xr + h + i);
            }
            for (; i < h; i++) {
                float hv = x[xr + i], gate = x[xr + h + i], g = gy[gr + i];
                gx[xr + i] = g * ScalarMath.gelu(gate);
                gx[xr + h + i] = g * hv * ScalarMath.geluGrad(gate);
            }
        }
    }

    private static FloatVector sigmoid(FloatVector x) {
        // 1 / (1 + e^-x): exp overflows to +inf for x < -88, giving exactly 0 as the scalar formula does.
        return ONE.div(VectorMath.exp(x.neg()).add(1f));
    }

    /**
     * exp(-x^2 / 2) to about one float ulp. Rounding x^2 would cost ~x^2 * 6e-8 in the exponent (1e-6 relative at
     * |x| = 5), so the rounding residual of x^2, exact with an FMA, corrects the result to first order.
     */
    private static FloatVector gaussian(FloatVector x) {
        var x2 = x.mul(x);
        var residual = x.fma(x, x2.neg());
        return VectorMath.exp(x2.mul(-0.5f)).mul(residual.fma(-0.5f, 1f));
    }

    /**
     * erfc(|x| / sqrt 2) by the fit of {@link ScalarMath#erf}, erfc(z) = t exp(-z^2 + P(t)), with exp(-z^2) taken
     * from {@link #gaussian}. Working with the complement keeps full relative precision in the negative tail,
     * where gelu(x) = x erfc(|x| / sqrt 2) / 2 is tiny.
     */
    private static FloatVector erfcOfHalfSqrt2(FloatVector x, FloatVector gaussian) {
        var z = x.abs().mul(INV_SQRT2);
        var t = ONE.div(z.fma(0.5f, 1f));
        var poly = t.fma(0.17087277f, -0.82215223f);
        poly = poly.fma(t, FloatVector.broadcast(F, 1.48851587f));
        poly = poly.fma(t, FloatVector.broadcast(F, -1.13520398f));
        poly = poly.fma(t, FloatVector.broadcast(F, 0.27886807f));
        poly = poly.fma(t, FloatVector.broadcast(F, -0.18628806f));
        poly = poly.fma(t, FloatVector.broadcast(F, 0.09678418f));
        poly = poly.fma(t, FloatVector.broadcast(F, 0.37409196f));
        poly = poly.fma(t, FloatVector.broadcast(F, 1.00002368f));
        poly = poly.fma(t, FloatVector.broadcast(F, -1.26551223f));
        return t.mul(gaussian).mul(VectorMath.exp(poly));
    }

    /** Phi(x), the standard normal CDF, given exp(-x^2 / 2). */
    private static FloatVector cdf(FloatVector x, FloatVector gaussian) {
        var half = erfcOfHalfSqrt2(x, gaussian).mul(0.5f);
        VectorMask<Float> positive = x.compare(VectorOperators.GE, 0f);
        return half.blend(half.neg().add(1f), positive);
    }

    private static FloatVector gelu(FloatVector x) {
        return x.mul(cdf(x, gaussian(x)));
    }

    /** Phi(x) + x phi(x). */
    private static FloatVector geluGrad(FloatVector x) {
        var gaussian = gaussian(x);
        return x.mul(INV_SQRT_2PI).fma(gaussian, cdf(x, gaussian));
    }

    private static float scalarGrad(UnaryOp op, float p, float v) {
        return switch (op) {
            case NEG -> -1f;
            case EXP -> (float) Math.exp(v);
            case SQUARE -> 2f * v;
            case ABS -> Math.signum(v);
            case RELU -> v > 0f ? 1f : 0f;
            case TANH -> {
                float t = (float) Math.tanh(v);
                yield 1f - t * t;
            }
            case SIGMOID -> {
                float s = ScalarMath.sigmoid(v);
                yield s * (1f - s);
            }
            case SILU -> {
                float s = ScalarMath.sigmoid(v);
                yield s + v * s * (1f - s);
            }
            case GELU -> ScalarMath.geluGrad(v);
            case ADD_SCALAR -> 1f;
            case MUL_SCALAR -> p;
            default -> throw unsupported(op);
        };
    }

    private static IllegalArgumentException unsupported(UnaryOp op) {
        return new IllegalArgumentException("no SIMD kernel for " + op);
    }
}
