package io.texforce.tensor.cpu;

import io.texforce.tensor.BinaryOp;
import jdk.incubator.vector.FloatVector;
import jdk.incubator.vector.VectorOperators;
import jdk.incubator.vector.VectorSpecies;

/**
 * One row of a broadcasting binary op: {@code o[oo + i] = a[ao + i * as] op b[bo + i * bs]}. Arithmetic on dense
 * rows and on a row against a broadcast scalar (stride 0) runs on SIMD lanes; results are bit-identical to the
 * scalar loop, since each lane performs the same single IEEE operation.
 */
final class BinaryKernels {
    private static final VectorSpecies<Float> F = FloatVector.SPECIES_PREFERRED;

    private BinaryKernels() {
    }

    static void row(BinaryOp op, float[] a, int ao, int as, float[] b, int bo, int bs, float[] o, int oo, int n) {
        VectorOperators.Binary vop = switch (op) {
            case ADD -> VectorOperators.ADD;
            case SUB -> VectorOperators.SUB;
            case MUL -> VectorOperators.MUL;
            case DIV -> VectorOperators.DIV;
            default -> null;
        };
        int i = 0;
        boolean simd = vop != null && (as == 0 || as == 1) && (bs == 0 || bs == 1);
        if (simd) {
            int bound = F.loopBound(n);
            if (as == 1 && bs == 1) {
                for (; i < bound; i += F.length()) {
                    FloatVector.fromArray(F, a, ao + i).lanewise(vop, FloatVector.fromArray(F, b, bo + i))
                            .intoArray(o, oo + i);
                }
            } else if (as == 1) {
                var bv = FloatVector.broadcast(F, b[bo]);
                for (; i < bound; i += F.length()) {
                    FloatVector.fromArray(F, a, ao + i).lanewise(vop, bv).intoArray(o, oo + i);
                }
            } else if (bs == 1) {
                var av = FloatVector.broadcast(F, a[ao]);
                for (; i < bound; i += F.length()) {
                    av.lanewise(vop, FloatVector.fromArray(F, b, bo + i)).intoArray(o, oo + i);
                }
            }
        }
        for (; i < n; i++) {
            o[oo + i] = apply(op, a[ao + i * as], b[bo + i * bs]);
        }
    }

    static float apply(BinaryOp op, float x, float y) {
        return switch (op) {
            case ADD -> x + y;
            case SUB -> x - y;
            case MUL -> x * y;
            case DIV -> x / y;
            case MAXIMUM -> Math.max(x, y);
            case MINIMUM -> Math.min(x, y);
            case POW -> (float) Math.pow(x, y);
            case GT -> x > y ? 1f : 0f;
            case LT -> x < y ? 1f : 0f;
            case EQ -> x == y ? 1f : 0f;
        };
    }
}
