package io.texforce.rl;

import io.texforce.tensor.Tensor;

import java.util.ArrayList;
import java.util.List;

/**
 * A PPO training batch: trajectories with their advantages, and for each trajectory the steps to train on, in the
 * order to train them. Training step {@code j} of the batch uses step {@code stepIndex(b, j)} of trajectory b, so
 * the samples of one forward pass sit at different timesteps, as in DDPO.
 */
public final class MiniBatch {
    private final List<Trajectory> samples;
    private final int[][] steps;
    private final float[] advantages;

    MiniBatch(List<Trajectory> samples, int[][] steps, float[] advantages) {
        this.samples = List.copyOf(samples);
        this.steps = steps;
        this.advantages = advantages;
    }

    public int size() {
        return samples.size();
    }

    /** How many steps of each trajectory are trained. */
    public int trainedSteps() {
        return steps[0].length;
    }

    public List<Trajectory> samples() {
        return samples;
    }

    /** The index into trajectory {@code b}'s steps of its {@code j}-th trained step. */
    public int stepIndex(int b, int j) {
        return steps[b][j];
    }

    /** The latents x_t of training step j, [B, C, H, W]. */
    public Tensor latents(int j) {
        return gatherLatents(j, 0);
    }

    /** The latents x_{t-1} that the sampler produced from {@link #latents(int)}, [B, C, H, W]. */
    public Tensor nextLatents(int j) {
        return gatherLatents(j, 1);
    }

    private Tensor gatherLatents(int j, int shift) {
        List<Tensor> rows = new ArrayList<>(samples.size());
        for (int b = 0; b < samples.size(); b++) {
            rows.add(samples.get(b).latentAt(steps[b][j] + shift));
        }
        return Tensor.stack(rows, 0);
    }

    /** The timestep of each sample at training step j. */
    public int[] timesteps(int j) {
        int[] out = new int[samples.size()];
        for (int b = 0; b < out.length; b++) {
            out[b] = samples.get(b).timesteps()[steps[b][j]];
        }
        return out;
    }

    /** The sampling-time log-probabilities at training step j, [B], on the backend of the latents. */
    public Tensor oldLogProbs(int j) {
        float[] out = new float[samples.size()];
        for (int b = 0; b < out.length; b++) {
            out[b] = samples.get(b).logProbs()[steps[b][j]];
        }
        return Tensor.of(backend(), out, out.length);
    }

    /** The advantages, [B], on the backend of the latents. */
    public Tensor advantages() {
        return Tensor.of(backend(), advantages, advantages.length);
    }

    /** Where the trajectories' latents live, and so where the loss is computed. */
    private io.texforce.tensor.Backend backend() {
        return samples.get(0).latents().backend();
    }
}
