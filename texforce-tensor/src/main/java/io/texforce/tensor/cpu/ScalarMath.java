package io.texforce.tensor.cpu;

/** Scalar special functions the JDK lacks, accurate to float32 precision. */
public final class ScalarMath {
    private static final double INV_SQRT2 = 0.7071067811865476;
    private static final double INV_SQRT_2PI = 0.3989422804014327;
    private static final double SQRT_2_OVER_PI = 0.7978845608028654;

    private ScalarMath() {
    }

    /**
     * The error function. Uses the complementary-error-function fit of Press et al. (Numerical Recipes,
     * Chebyshev-fitted exponent), whose fractional error is below 1.2e-7 everywhere: enough for float32 parity.
     */
    public static double erf(double x) {
        double z = Math.abs(x);
        double t = 1.0 / (1.0 + 0.5 * z);
        double poly = -z * z - 1.26551223 + t * (1.00002368 + t * (0.37409196 + t * (0.09678418
                + t * (-0.18628806 + t * (0.27886807 + t * (-1.13520398 + t * (1.48851587
                + t * (-0.82215223 + t * 0.17087277))))))));
        double erfc = t * Math.exp(poly);
        return x >= 0 ? 1.0 - erfc : erfc - 1.0;
    }

    /** x * Phi(x). */
    public static float gelu(float x) {
        return (float) (0.5 * x * (1.0 + erf(x * INV_SQRT2)));
    }

    /** d/dx of x * Phi(x) = Phi(x) + x * phi(x). */
    public static float geluGrad(float x) {
        double cdf = 0.5 * (1.0 + erf(x * INV_SQRT2));
        double pdf = INV_SQRT_2PI * Math.exp(-0.5 * x * x);
        return (float) (cdf + x * pdf);
    }

    public static float geluTanh(float x) {
        double inner = SQRT_2_OVER_PI * (x + 0.044715 * x * x * x);
        return (float) (0.5 * x * (1.0 + Math.tanh(inner)));
    }

    public static float geluTanhGrad(float x) {
        double inner = SQRT_2_OVER_PI * (x + 0.044715 * x * x * x);
        double th = Math.tanh(inner);
        double dInner = SQRT_2_OVER_PI * (1.0 + 3 * 0.044715 * x * x);
        return (float) (0.5 * (1.0 + th) + 0.5 * x * (1.0 - th * th) * dInner);
    }

    public static float sigmoid(float x) {
        return (float) (1.0 / (1.0 + Math.exp(-x)));
    }
}
