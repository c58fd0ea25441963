package io.texforce.tensor;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertNotNull;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.lang.ref.WeakReference;
import org.junit.jupiter.api.Test;

/** The graph keeps an activation alive only while a backward formula needs it. */
class AutogradMemoryTest {
    private static boolean collected(WeakReference<?> ref) {
        for (int i = 0; i < 20 && ref.get() != null; i++) {
            System.gc();
        }
        return ref.get() == null;
    }

    @Test
    void frozenLinearAndConvolutionDoNotKeepTheirInputs() {
        Tensor ctx = Tensor.of(new float[]{1, 2, 3, 4, 5, 6, 7, 8}, 1, 2, 2, 2).requiresGrad(true);
        Tensor w = Tensor.of(new float[]{0.5f, -1f, 2f, 0.25f}, 2, 2);
        Tensor k = Tensor.of(new float[]{1, -2, 0.5f, 3}, 2, 2, 1, 1);

        Tensor h = ctx.mul(2f);
        var hData = new WeakReference<>(h.storage());
        Tensor y = Functional.linear(h, w, null);
        h = null;
        assertTrue(collected(hData), "the input of a linear layer with a frozen weight is still reachable");

        Tensor z = y.add(1f);
        var zData = new WeakReference<>(z.storage());
        Tensor out = Functional.conv2d(z, k, null, 1, 0);
        z = null;
        assertTrue(collected(zData), "the input of a frozen convolution is still reachable");

        out.sum().backward();
        assertNotNull(ctx.grad());
        float[] expected = expectedGrad(w, k);
        assertArrayEquals(expected, ctx.grad().toFloatArray(), 1e-6f);
    }

    private static float[] expectedGrad(Tensor w, Tensor k) {
        // out[o, a, j] = sum_c k[o, c] * (2 * sum_i ctx[c, a, i] * w[j, i] + 1); dsum/dctx[c, a, i] =
        // 2 * (sum_o k[o, c]) * (sum_j w[j, i]).
        float[] g = new float[8];
        for (int c = 0; c < 2; c++) {
            float kc = k.get(0, c, 0, 0) + k.get(1, c, 0, 0);
            for (int a = 0; a < 2; a++) {
                for (int i = 0; i < 2; i++) {
                    g[(c * 2 + a) * 2 + i] = 2 * kc * (w.get(0, i) + w.get(1, i));
                }
            }
        }
        return g;
    }
}
