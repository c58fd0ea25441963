package io.texforce.tensor.cpu;

import jdk.incubator.vector.FloatVector;
import jdk.incubator.vector.IntVector;
import jdk.incubator.vector.VectorOperators;
import jdk.incubator.vector.VectorShuffle;
import jdk.incubator.vector.VectorSpecies;

/**
 * Vector functions whose results are bit-identical whether the JIT has compiled the calling code or not.
 *
 * <p>Why: the JDK's {@code lanewise(EXP)} is an SVML intrinsic once compiled but a {@code Math.exp} loop before,
 * and {@code reduceLanes(ADD)} may sum lanes in a different order compiled and interpreted. Both made a model's
 * first forward pass differ in the last bits from later ones, and hence a resumed training run (a fresh JVM)
 * differ from an uninterrupted one. Everything here is built from IEEE-exact operations (add, mul, fma,
 * conversions of exact integers, compares), which every execution mode computes identically.
 */
public final class VectorMath {
    private static final float LOG2E = 1.44269504f;
    private static final float LN2_HI = 0.693145752f;
    private static final float LN2_LO = 1.42860677e-6f;
    /** 1.5 * 2^23: adding and subtracting it rounds a float of magnitude < 2^22 to the nearest integer. */
    private static final float ROUNDER = 12582912f;
    /**
     * Inputs are clamped just above ln(FLT_MAX) (88.72), so that larger ones overflow to +inf through the final
     * multiplications; below ln(FLT_MIN) e^x is subnormal and flushed to 0.
     */
    private static final float OVERFLOW = 88.8f;
    private static final float UNDERFLOW = -87.3365479f;

    private VectorMath() {
    }

    /**
     * e^x to within about 2 ulp: Cody-Waite reduction x = n ln2 + r, |r| <= ln2/2, a degree-7 Taylor polynomial
     * for e^r, and 2^n built in the exponent bits. +inf above {@code ln(FLT_MAX)}, 0 below {@code ln(FLT_MIN)}
     * (including -inf, as softmax masks need), NaN for NaN.
     */
    public static FloatVector exp(FloatVector x) {
        VectorSpecies<Float> s = x.species();
        var clamped = x.max(UNDERFLOW).min(OVERFLOW);
        var n = clamped.mul(LOG2E).add(ROUNDER).sub(ROUNDER);
        var r = n.fma(FloatVector.broadcast(s, -LN2_HI), clamped);
        r = n.fma(FloatVector.broadcast(s, -LN2_LO), r);
        var p = r.fma(FloatVector.broadcast(s, 1f / 5040f), FloatVector.broadcast(s, 1f / 720f));
        p = p.fma(r, FloatVector.broadcast(s, 1f / 120f));
        p = p.fma(r, FloatVector.broadcast(s, 1f / 24f));
        p = p.fma(r, FloatVector.broadcast(s, 1f / 6f));
        p = p.fma(r, FloatVector.broadcast(s, 0.5f));
        p = p.fma(r, FloatVector.broadcast(s, 1f));
        p = p.fma(r, FloatVector.broadcast(s, 1f));
        // n is in [-126, 128]: split 2^n into two factors so that n = 128 does not overflow the exponent field.
        var ni = (IntVector) n.convert(VectorOperators.F2I, 0);
        var half = ni.lanewise(VectorOperators.ASHR, 1);
        var scale1 = half.add(127).lanewise(VectorOperators.LSHL, 23).reinterpretAsFloats();
        var scale2 = ni.sub(half).add(127).lanewise(VectorOperators.LSHL, 23).reinterpretAsFloats();
        // NaN propagates through max/min and the arithmetic; only the flush to zero needs a blend.
        return p.mul(scale1).mul(scale2).blend(FloatVector.zero(s), x.compare(VectorOperators.LT, UNDERFLOW));
    }

    /** Butterfly shuffles (lane i with lane i ^ d) for the preferred species, d = half the lanes down to 1. */
    private static final VectorShuffle<Float>[] BUTTERFLY = butterfly(FloatVector.SPECIES_PREFERRED);

    @SuppressWarnings("unchecked")
    private static VectorShuffle<Float>[] butterfly(VectorSpecies<Float> s) {
        int steps = Integer.numberOfTrailingZeros(s.length());
        VectorShuffle<Float>[] out = new VectorShuffle[steps];
        for (int k = 0; k < steps; k++) {
            int d = s.length() >> (k + 1);
            out[k] = VectorShuffle.fromOp(s, i -> i ^ d);
        }
        return out;
    }

    /** The sum of the lanes in a fixed butterfly order (lanes i and i + n/2 first, and so on). */
    public static float sum(FloatVector v) {
        if (v.species() != FloatVector.SPECIES_PREFERRED) {
            float s = 0f;
            for (int i = 0; i < v.length(); i++) {
                s += v.lane(i);
            }
            return s;
        }
        FloatVector t = v;
        for (VectorShuffle<Float> shuffle : BUTTERFLY) {
            t = t.add(t.rearrange(shuffle));
        }
        return t.lane(0);
    }
}
