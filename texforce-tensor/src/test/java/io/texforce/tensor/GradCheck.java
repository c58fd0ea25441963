package io.texforce.tensor;

import java.util.List;
import java.util.Random;
import java.util.function.Function;

import static org.junit.jupiter.api.Assertions.fail;

/**
 * Finite-difference gradient checks: compares the autograd gradient of {@code sum(f(inputs) * r)} (r fixed random
 * weights, so every output element matters differently) with central differences in each input element.
 */
public final class GradCheck {
    private GradCheck() {
    }

    public static Tensor randn(Random rnd, int... shape) {
        float[] d = new float[Shape.numel(shape)];
        for (int i = 0; i < d.length; i++) {
            d[i] = (float) rnd.nextGaussian();
        }
        return Tensor.of(d, shape);
    }

    /** Asserts the gradients of every input; returns the largest error seen (relative to tolerance 1). */
    public static double check(String name, Function<List<Tensor>, Tensor> f, List<Tensor> inputs) {
        return check(name, f, inputs, 1e-2f, 2e-3, 2e-2);
    }

    public static double check(String name, Function<List<Tensor>, Tensor> f, List<Tensor> inputs,
                               float eps, double atol, double rtol) {
        for (Tensor t : inputs) {
            t.requiresGrad(true).zeroGrad();
        }
        Tensor out = f.apply(inputs);
        Random rnd = new Random(42);
        Tensor r = randn(rnd, out.shape());
        out.mul(r).sum().backward();
        double worst = 0;
        for (int k = 0; k < inputs.size(); k++) {
            Tensor x = inputs.get(k);
            float[] data = ((io.texforce.tensor.cpu.CpuStorage) x.storage()).data();
            float[] analytic = x.grad() == null ? new float[x.numel()] : x.grad().toFloatArray();
            for (int i = 0; i < x.numel(); i++) {
                float orig = data[i];
                double plus, minus;
                try (var g = GradMode.noGrad()) {
                    data[i] = orig + eps;
                    plus = dot(f.apply(inputs), r);
                    data[i] = orig - eps;
                    minus = dot(f.apply(inputs), r);
                } finally {
                    data[i] = orig;
                }
                double numeric = (plus - minus) / (2 * eps);
                double err = Math.abs(numeric - analytic[i]);
                double allowed = atol + rtol * Math.abs(numeric);
                worst = Math.max(worst, err / allowed);
                if (err > allowed) {
                    fail(String.format("%s: d/d input%d[%d]: analytic %.6f vs numeric %.6f (error %.2e > %.2e)",
                            name, k, i, analytic[i], numeric, err, allowed));
                }
            }
        }
        for (Tensor t : inputs) {
            t.requiresGrad(false).zeroGrad();
        }
        return worst;
    }

    private static double dot(Tensor a, Tensor b) {
        float[] x = a.toFloatArray(), y = b.toFloatArray();
        double s = 0;
        for (int i = 0; i < x.length; i++) {
            s += (double) x[i] * y[i];
        }
        return s;
    }
}
