package io.texforce.rl;

import io.texforce.tensor.GradMode;
import io.texforce.tensor.Tensor;

import java.util.Arrays;

/**
 * PPO's clipped surrogate loss for one timestep of a batch of trajectories, as DDPO computes it:
 * {@code ratio = exp(logp - old)}, {@code loss = mean(max(-A * ratio, -A * clamp(ratio, 1 - c, 1 + c)))}.
 *
 * @param loss         the differentiable scalar loss
 * @param approxKl     {@code 0.5 * mean((logp - old)^2)}, a diagnostic
 * @param clipFraction the fraction of samples with {@code |ratio - 1| > c}, a diagnostic
 */
public record PpoLoss(Tensor loss, float approxKl, float clipFraction) {

    /**
     * @param logProb    log-probabilities [B] under the current policy (gradients flow through these)
     * @param oldLogProb log-probabilities [B] recorded when sampling (constants)
     * @param advantages advantages [B] (constants), already clipped if desired
     * @param clipRange  c, the half-width of the trusted ratio interval
     */
    public static PpoLoss compute(Tensor logProb, Tensor oldLogProb, Tensor advantages, float clipRange) {
        int[] shape = logProb.shape();
        if (shape.length != 1 || !Arrays.equals(oldLogProb.shape(), shape) || !Arrays.equals(advantages.shape(), shape)) {
            throw new IllegalArgumentException("PPO needs log-probabilities, old log-probabilities and advantages of one"
                    + " shape [B]; got " + Arrays.toString(shape) + ", " + Arrays.toString(oldLogProb.shape()) + " and "
                    + Arrays.toString(advantages.shape()));
        }
        if (!(clipRange >= 0)) {
            throw new IllegalArgumentException("clip range must be non-negative, got " + clipRange);
        }
        Tensor negAdvantages = advantages.detach().neg();
        Tensor ratio = logProb.sub(oldLogProb.detach()).exp();
        Tensor unclipped = negAdvantages.mul(ratio);
        Tensor clipped = negAdvantages.mul(ratio.clamp(1f - clipRange, 1f + clipRange));
        Tensor loss = unclipped.maximum(clipped).mean();

        float[] r, diff;
        try (var g = GradMode.noGrad()) {
            r = ratio.toFloatArray();
            diff = logProb.sub(oldLogProb).toFloatArray();
        }
        double squares = 0;
        int outside = 0;
        for (int i = 0; i < r.length; i++) {
            squares += (double) diff[i] * diff[i];
            outside += Math.abs(r[i] - 1f) > clipRange ? 1 : 0;
        }
        return new PpoLoss(loss, (float) (0.5 * squares / r.length), (float) outside / r.length);
    }
}
