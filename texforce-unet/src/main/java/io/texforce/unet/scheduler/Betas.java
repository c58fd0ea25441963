package io.texforce.unet.scheduler;

/**
 * The beta schedule and its cumulative alpha products, reproducing diffusers' float32 arithmetic bit for bit:
 * schedules are built with {@code torch.linspace(..., dtype=float32)} and {@code torch.cumprod}, whose CPU kernels
 * round differently from a plain loop.
 */
final class Betas {
    /** Floats per vector in torch's AVX2 CPU kernels; linspace's rounding depends on it. */
    private static final int TORCH_VECTOR_WIDTH = 8;

    private Betas() {
    }

    /** Betas for {@code config}, after the optional zero-terminal-SNR rescaling. */
    static float[] of(SchedulerConfig config) {
        int n = config.numTrainTimesteps();
        float[] betas;
        if (config.trainedBetas() != null) {
            betas = new float[n];
            for (int i = 0; i < n; i++) {
                betas[i] = config.trainedBetas().get(i).floatValue();
            }
        } else {
            betas = switch (config.betaSchedule()) {
                case LINEAR -> torchLinspace((float) config.betaStart(), (float) config.betaEnd(), n);
                case SCALED_LINEAR -> {
                    float[] roots = torchLinspace((float) Math.sqrt(config.betaStart()),
                            (float) Math.sqrt(config.betaEnd()), n);
                    for (int i = 0; i < n; i++) {
                        roots[i] *= roots[i];
                    }
                    yield roots;
                }
                case SQUAREDCOS_CAP_V2 -> cosine(n);
            };
        }
        return config.rescaleBetasZeroSnr() ? rescaleZeroTerminalSnr(betas) : betas;
    }

    /** {@code cumprod(1 - betas)}. */
    static float[] alphasCumprod(float[] betas) {
        float[] alphas = new float[betas.length];
        for (int i = 0; i < alphas.length; i++) {
            alphas[i] = 1f - betas[i];
        }
        return cumprod(alphas);
    }

    /** torch's CPU cumprod: the running product is kept in double and each output rounded to float. */
    static float[] cumprod(float[] values) {
        float[] out = new float[values.length];
        double product = 1;
        for (int i = 0; i < values.length; i++) {
            product *= values[i];
            out[i] = (float) product;
        }
        return out;
    }

    /**
     * torch.linspace(start, end, n) in float32 on CPU. The kernel computes the first half forward from
     * {@code start} and the second half backward from {@code end}; whole vectors of 8 take their base from that
     * rule at the vector's first index and add {@code k * step}. Every multiply-add is contracted to one fused
     * multiply-add by the compiler, hence {@link Math#fma}. A naive {@code start + i * step} differs in the last
     * bit for a third of SD's betas, enough to move {@code alphas_cumprod[999]} by 2.5e-7 relative.
     */
    static float[] torchLinspace(float start, float end, int n) {
        float[] out = new float[n];
        if (n == 1) {
            out[0] = start;
            return out;
        }
        float step = (end - start) / (n - 1);
        int halfway = n / 2;
        int vectorEnd = n - n % TORCH_VECTOR_WIDTH;
        for (int base = 0; base < vectorEnd; base += TORCH_VECTOR_WIDTH) {
            float first = linspaceScalar(start, end, step, halfway, n, base);
            for (int k = 0; k < TORCH_VECTOR_WIDTH; k++) {
                out[base + k] = Math.fma(k, step, first);
            }
        }
        for (int i = vectorEnd; i < n; i++) {
            out[i] = linspaceScalar(start, end, step, halfway, n, i);
        }
        return out;
    }

    private static float linspaceScalar(float start, float end, float step, int halfway, int n, int i) {
        return i < halfway ? Math.fma(step, i, start) : Math.fma(-step, n - i - 1, end);
    }

    /** diffusers' betas_for_alpha_bar with the cosine alpha-bar of Nichol and Dhariwal, capped at 0.999. */
    private static float[] cosine(int n) {
        float[] betas = new float[n];
        for (int i = 0; i < n; i++) {
            double t1 = (double) i / n, t2 = (double) (i + 1) / n;
            betas[i] = (float) Math.min(1 - alphaBar(t2) / alphaBar(t1), 0.999);
        }
        return betas;
    }

    private static double alphaBar(double t) {
        double c = Math.cos((t + 0.008) / 1.008 * Math.PI / 2);
        return c * c;
    }

    /**
     * Lin et al. (arXiv:2305.08891) Algorithm 1: shifts and scales sqrt(alphas_cumprod) so that the last timestep
     * has zero signal while the first keeps its value; float32 throughout, as diffusers.
     */
    private static float[] rescaleZeroTerminalSnr(float[] betas) {
        int n = betas.length;
        float[] sqrtBar = alphasCumprod(betas);
        for (int i = 0; i < n; i++) {
            sqrtBar[i] = (float) Math.sqrt(sqrtBar[i]);
        }
        float first = sqrtBar[0], last = sqrtBar[n - 1];
        float scale = first / (first - last);
        float[] bar = new float[n];
        for (int i = 0; i < n; i++) {
            float s = (sqrtBar[i] - last) * scale;
            bar[i] = s * s;
        }
        float[] rescaled = new float[n];
        rescaled[0] = 1f - bar[0];
        for (int i = 1; i < n; i++) {
            rescaled[i] = 1f - bar[i] / bar[i - 1];
        }
        return rescaled;
    }
}
