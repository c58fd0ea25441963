package io.texforce.cuda;

import io.texforce.tensor.Backend;
import io.texforce.tensor.Tensor;

import java.util.function.Function;

/**
 * One kernel-versus-reference comparison: {@code op} runs on a backend and returns its outputs; the check runs it
 * on the CPU reference and on the GPU with the same inputs and compares every output element by
 * |gpu - cpu| / (1 + |cpu|), which is an absolute error near zero and a relative one for large values.
 */
record ParityCheck(String name, double tolerance, Function<Backend, Tensor[]> op) {

    /** The measured outcome: worst error over all outputs and the time of one warm run on each side. */
    record Result(String name, double maxError, double tolerance, double gpuMillis, double cpuMillis) {
        boolean passed() {
            return maxError <= tolerance;
        }
    }

    Result run(Backend cpu, CudaBackend gpu) {
        Tensor[] expected = op.apply(cpu);
        long t0 = System.nanoTime();
        expected = op.apply(cpu);
        double cpuMillis = (System.nanoTime() - t0) / 1e6;
        op.apply(gpu);
        gpu.synchronize();
        long t1 = System.nanoTime();
        Tensor[] actual = op.apply(gpu);
        gpu.synchronize();
        double gpuMillis = (System.nanoTime() - t1) / 1e6;
        return new Result(name, maxError(name, expected, actual), tolerance, gpuMillis, cpuMillis);
    }

    /**
     * The worst |actual - expected| / (1 + |expected|) over every element of every output; NaN against NaN and equal
     * infinities count as 0, any other non-finite mismatch as infinity. Throws when the outputs differ in number,
     * shape or nullness.
     */
    static double maxError(String name, Tensor[] expected, Tensor[] actual) {
        if (actual.length != expected.length) {
            throw new AssertionError(name + ": " + actual.length + " outputs on the GPU, " + expected.length
                    + " on the CPU");
        }
        double worst = 0;
        for (int i = 0; i < expected.length; i++) {
            if (expected[i] == null || actual[i] == null) {
                if (expected[i] != actual[i]) {
                    throw new AssertionError(name + ": output " + i + " is null on one side only");
                }
                continue;
            }
            float[] e = expected[i].toFloatArray(), a = actual[i].toFloatArray();
            if (e.length != a.length || !java.util.Arrays.equals(expected[i].shape(), actual[i].shape())) {
                throw new AssertionError(name + ": output " + i + " has shape "
                        + java.util.Arrays.toString(actual[i].shape()) + " on the GPU, "
                        + java.util.Arrays.toString(expected[i].shape()) + " on the CPU");
            }
            for (int j = 0; j < e.length; j++) {
                double err;
                if (Float.isNaN(e[j]) || Float.isNaN(a[j])) {
                    err = Float.isNaN(e[j]) == Float.isNaN(a[j]) ? 0 : Double.POSITIVE_INFINITY;
                } else if (Float.isInfinite(e[j]) || Float.isInfinite(a[j])) {
                    err = e[j] == a[j] ? 0 : Double.POSITIVE_INFINITY;
                } else {
                    err = Math.abs((double) a[j] - e[j]) / (1 + Math.abs(e[j]));
                }
                worst = Math.max(worst, err);
            }
        }
        return worst;
    }
}
