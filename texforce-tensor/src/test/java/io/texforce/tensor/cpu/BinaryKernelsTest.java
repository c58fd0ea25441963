package io.texforce.tensor.cpu;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;

import io.texforce.tensor.BinaryOp;
import io.texforce.tensor.Shape;
import io.texforce.tensor.Tensor;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.EnumSource;

class BinaryKernelsTest {
    private static Tensor tensor(long seed, int... shape) {
        return Tensor.of(KernelChecks.random(seed, Shape.numel(shape), 2f, 0.5f), shape);
    }

    /** The broadcast result element by element, through {@link Tensor#get}. */
    private static float[] naive(BinaryOp op, Tensor a, Tensor b) {
        int[] shape = Shape.broadcast(a.shape(), b.shape());
        Tensor ea = a.expand(shape), eb = b.expand(shape);
        float[] o = new float[Shape.numel(shape)];
        int[] idx = new int[shape.length];
        for (int i = 0; i < o.length; i++) {
            for (int d = shape.length - 1, rem = i; d >= 0; d--) {
                idx[d] = rem % shape[d];
                rem /= shape[d];
            }
            o[i] = BinaryKernels.apply(op, ea.get(idx), eb.get(idx));
        }
        return o;
    }

    @ParameterizedTest(name = "{0}")
    @EnumSource(BinaryOp.class)
    void broadcastAndStridedOperandsMatchElementwiseReference(BinaryOp op) {
        Tensor x = tensor(1, 2, 5, 3, 11);
        Tensor[][] cases = {
                {x, tensor(2, 2, 5, 3, 11)},                       // dense rows
                {x, tensor(3, 2, 5, 1, 1)},                        // per-channel scalar (time embedding add)
                {tensor(4, 11), x},                                // bias on the left
                {x, tensor(5, 5, 1, 11)},                          // middle broadcast
                {x.permute(0, 2, 1, 3), tensor(6, 3, 5, 11)},      // strided view
                {x.narrow(3, 2, 7), tensor(7, 1)},                 // offset view against a scalar
                {tensor(8, 3, 1), tensor(9, 1, 17)},               // outer product shape
        };
        for (Tensor[] c : cases) {
            float[] expected = naive(op, c[0], c[1]);
            Tensor out = CpuBackend.INSTANCE.binary(op, c[0], c[1]);
            assertArrayEquals(Shape.broadcast(c[0].shape(), c[1].shape()), out.shape());
            assertArrayEquals(expected, out.toFloatArray(), 0f,
                    () -> op + " of " + Shape.str(c[0].shape()) + " and " + Shape.str(c[1].shape()));
        }
    }

    @Test
    void stridedCopyOfPermutedViewIsExact() {
        Tensor x = tensor(10, 2, 3, 4, 5);
        Tensor p = x.permute(0, 2, 3, 1);
        float[] got = p.contiguous().toFloatArray();
        int i = 0;
        for (int a = 0; a < 2; a++) {
            for (int b = 0; b < 4; b++) {
                for (int c = 0; c < 5; c++) {
                    for (int d = 0; d < 3; d++) {
                        assertEquals(x.get(a, d, b, c), got[i++]);
                    }
                }
            }
        }
    }
}
