package io.texforce.tensor;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.util.Arrays;
import java.util.SplittableRandom;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.CsvSource;
import org.junit.jupiter.params.provider.EnumSource;

/**
 * Rounding float32 to bf16/fp16 against an independent reference: the nearest of all 65536 decoded 16-bit values,
 * ties to the even bit pattern, overflow to infinity past the largest finite value plus half an ulp (IEEE 754
 * round-to-nearest-even, which PyTorch's {@code .to(torch.bfloat16/float16)} implements).
 */
class WeightDtypeTest {

    /** Finite representable values of a 16-bit format, ascending, with the bit pattern of each. */
    private record Grid(double[] values, short[] bits, double maxFinite, double overflow) {
        static Grid of(WeightDtype dtype) {
            double[] v = new double[65536];
            short[] b = new short[65536];
            int n = 0;
            for (int p = 0; p < 65536; p++) {
                float f = dtype.decode((short) p);
                if (Float.isFinite(f) && !(f == 0f && (p & 0x8000) != 0)) {
                    v[n] = f;
                    b[n++] = (short) p;
                }
            }
            Integer[] order = new Integer[n];
            for (int i = 0; i < n; i++) {
                order[i] = i;
            }
            double[] vals = v;
            Arrays.sort(order, (x, y) -> Double.compare(vals[x], vals[y]));
            double[] sv = new double[n];
            short[] sb = new short[n];
            for (int i = 0; i < n; i++) {
                sv[i] = v[order[i]];
                sb[i] = b[order[i]];
            }
            double max = sv[n - 1];
            // The spacing just below the largest value is its ulp; half of it past max rounds away to infinity.
            double overflow = max + (max - sv[n - 2]) / 2;
            return new Grid(sv, sb, max, overflow);
        }

        /** The reference rounding of x, as a float. */
        float round(float x) {
            if (Float.isNaN(x) || Float.isInfinite(x)) {
                return x;
            }
            double d = x;
            if (Math.abs(d) >= overflow) {
                return d > 0 ? Float.POSITIVE_INFINITY : Float.NEGATIVE_INFINITY;
            }
            int i = Arrays.binarySearch(values, d);
            float r;
            if (i >= 0) {
                r = (float) values[i];
            } else {
                int hi = -i - 1, lo = hi - 1;
                if (hi == values.length || lo < 0) {
                    // Beyond the largest finite value but short of the overflow threshold.
                    return (float) values[hi == values.length ? lo : hi];
                }
                double dl = d - values[lo], dh = values[hi] - d;
                if (dl < dh) {
                    r = (float) values[lo];
                } else if (dh < dl) {
                    r = (float) values[hi];
                } else {
                    r = (float) ((bits[lo] & 1) == 0 ? values[lo] : values[hi]);
                }
            }
            // Values that round to zero keep the sign of x.
            return r == 0f ? Math.copySign(0f, x) : r;
        }
    }

    @ParameterizedTest
    @EnumSource(value = WeightDtype.class, names = {"BF16", "FP16"})
    void roundsToNearestEvenLikeTheReferenceOnTiesNeighboursAndRandomValues(WeightDtype dtype) {
        Grid grid = Grid.of(dtype);
        int checked = 0;
        // Every midpoint between neighbouring values (a tie) and the floats just beside it.
        for (int i = 0; i + 1 < grid.values.length; i++) {
            float mid = (float) ((grid.values[i] + grid.values[i + 1]) / 2);
            for (float x : new float[]{mid, Math.nextDown(mid), Math.nextUp(mid), (float) grid.values[i]}) {
                assertSame(dtype, grid, x);
                checked++;
            }
        }
        var rnd = new SplittableRandom(7);
        for (int i = 0; i < 1_000_000; i++) {
            assertSame(dtype, grid, Float.intBitsToFloat(rnd.nextInt()));
            checked++;
        }
        System.out.printf("%s rounding: %d values equal to the nearest-even reference%n", dtype.cliName(), checked);
    }

    private static void assertSame(WeightDtype dtype, Grid grid, float x) {
        float expected = grid.round(x);
        float actual = dtype.round(x);
        if (Float.isNaN(x)) {
            assertTrue(Float.isNaN(actual), () -> "NaN " + Integer.toHexString(Float.floatToRawIntBits(x)));
            return;
        }
        assertEquals(Float.floatToIntBits(expected), Float.floatToIntBits(actual),
                () -> dtype + " of " + x + " (0x" + Integer.toHexString(Float.floatToRawIntBits(x)) + "): expected "
                        + expected + " got " + actual);
    }

    /** Values whose PyTorch results are known: ties, subnormals, overflow, signed zero, infinities. */
    @ParameterizedTest(name = "{0}({1}) = {2}")
    @CsvSource({
            "BF16, 1.00390625, 1.0",             // 1 + 2^-8: a tie below the even neighbour
            "BF16, 1.01171875, 1.015625",        // 1 + 3*2^-8: a tie rounding up to the even neighbour
            "BF16, 1.0039064, 1.0078125",        // the next float past the tie
            "BF16, 3.3961775E38, Infinity",      // max bf16 plus half an ulp: a tie, rounds to the even infinity
            "BF16, 3.3961773E38, 3.3895314E38",  // just below it
            "BF16, 3.3895312E38, 3.3895314E38",  // bf16 max itself (0x7F7F), exactly representable
            "BF16, 9.18355E-41, 9.18355E-41",    // a bf16 subnormal (0x0001 << 16 ... 0x00010000)
            "BF16, -0.0, -0.0",
            "BF16, -Infinity, -Infinity",
            "FP16, 65504, 65504",
            "FP16, 65519.996, 65504",
            "FP16, 65520, Infinity",
            "FP16, 5.9604645E-8, 5.9604645E-8",  // 2^-24, the smallest subnormal
            "FP16, 2.9802322E-8, 0.0",           // 2^-25: a tie between 0 and 2^-24, rounds to even 0
            "FP16, 2.9802326E-8, 5.9604645E-8",  // just above it
            "FP16, 8.940697E-8, 1.1920929E-7",   // 3*2^-25: tie between 2^-24 (odd) and 2^-23 (even)
            "FP16, 1.00048828125, 1.0",          // 1 + 2^-11: tie
            "FP16, -1.00146484375, -1.001953125",// -(1 + 3*2^-11): tie to even, away from zero
            "FP16, Infinity, Infinity",
    })
    void knownValues(WeightDtype dtype, float x, float expected) {
        assertEquals(Float.floatToIntBits(expected), Float.floatToIntBits(dtype.round(x)),
                () -> dtype + " of " + x + " gave " + dtype.round(x));
    }

    @ParameterizedTest
    @EnumSource(value = WeightDtype.class, names = {"BF16", "FP16"})
    void nanStaysNanWithItsSign(WeightDtype dtype) {
        for (int bits : new int[]{0x7FC00000, 0xFFC00000, 0x7F800001, 0x7FFFFFFF, 0xFF800001}) {
            float x = Float.intBitsToFloat(bits);
            short h = dtype.encode(x);
            float back = dtype.decode(h);
            assertTrue(Float.isNaN(back), () -> dtype + " of NaN 0x" + Integer.toHexString(bits) + " gave " + back);
            assertEquals(bits < 0, (h & 0x8000) != 0, "sign of NaN 0x" + Integer.toHexString(bits));
        }
    }

    @ParameterizedTest
    @CsvSource({"fp32, FP32", "bf16, BF16", "bfloat16, BF16", "FP16, FP16", "half, FP16"})
    void parsesNames(String name, WeightDtype expected) {
        assertEquals(expected, WeightDtype.parse(name));
    }

    @org.junit.jupiter.api.Test
    void unknownNameListsTheChoices() {
        var e = assertThrows(IllegalArgumentException.class, () -> WeightDtype.parse("int8"));
        assertTrue(e.getMessage().contains("int8") && e.getMessage().contains("bf16"), e.getMessage());
    }
}
