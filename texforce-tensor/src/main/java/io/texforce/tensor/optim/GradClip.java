package io.texforce.tensor.optim;

import io.texforce.tensor.GradMode;
import io.texforce.tensor.Tensor;

import java.util.Collection;

/** Gradient clipping by global norm, as {@code torch.nn.utils.clip_grad_norm_}. */
public final class GradClip {
    private GradClip() {
    }

    /**
     * Scales all gradients in place by {@code min(1, maxNorm / (norm + 1e-6))} where norm is the L2 norm of all
     * gradients together; returns that norm (before clipping).
     */
    public static float clipGradNorm(Collection<Tensor> params, float maxNorm) {
        double sq = 0;
        try (var g = GradMode.noGrad()) {
            for (Tensor p : params) {
                if (p.grad() != null) {
                    sq += p.grad().square().sum().item();
                }
            }
            float norm = (float) Math.sqrt(sq);
            float coef = maxNorm / (norm + 1e-6f);
            if (coef < 1f) {
                for (Tensor p : params) {
                    if (p.grad() != null) {
                        Tensor scaled = p.grad().mul(coef);
                        p.setGrad(scaled);
                    }
                }
            }
            return norm;
        }
    }
}
