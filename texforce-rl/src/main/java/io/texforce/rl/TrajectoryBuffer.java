package io.texforce.rl;

import io.texforce.tensor.random.Generator;

import java.util.ArrayList;
import java.util.Arrays;
import java.util.Collections;
import java.util.List;

/**
 * The trajectories of one sampling epoch, their advantages, and DDPO's shuffling for the inner training epochs:
 * trajectories are permuted, each trajectory's steps are permuted independently and only the first
 * {@code trainedSteps} of that order are trained. Every permutation is drawn from a {@link Generator}, so a run is
 * reproducible from its seed and stream offset.
 */
public final class TrajectoryBuffer {
    private final List<Trajectory> trajectories = new ArrayList<>();
    private float[] advantages;

    /** Adds a trajectory; all must have the same number of steps and latent shape. */
    public void add(Trajectory t) {
        if (!trajectories.isEmpty()) {
            Trajectory first = trajectories.getFirst();
            if (!Arrays.equals(first.latents().shape(), t.latents().shape())) {
                throw new IllegalArgumentException("trajectory of '" + t.prompt() + "' has latents "
                        + Arrays.toString(t.latents().shape()) + ", the buffer holds "
                        + Arrays.toString(first.latents().shape()));
            }
        }
        trajectories.add(t);
        advantages = null;
    }

    public int size() {
        return trajectories.size();
    }

    public Trajectory get(int i) {
        return trajectories.get(i);
    }

    public List<Trajectory> trajectories() {
        return Collections.unmodifiableList(trajectories);
    }

    public void clear() {
        trajectories.clear();
        advantages = null;
    }

    /** The rewards in insertion order. */
    public float[] rewards() {
        float[] out = new float[trajectories.size()];
        for (int i = 0; i < out.length; i++) {
            out[i] = trajectories.get(i).reward();
        }
        return out;
    }

    /** The prompts in insertion order. */
    public List<String> prompts() {
        return trajectories.stream().map(Trajectory::prompt).toList();
    }

    /** Sets one advantage per trajectory, in insertion order (adding a trajectory clears them). */
    public void setAdvantages(float[] values) {
        if (values.length != trajectories.size()) {
            throw new IllegalArgumentException(values.length + " advantages for " + trajectories.size()
                    + " trajectories");
        }
        advantages = values.clone();
    }

    /**
     * One inner epoch: the trajectories shuffled into batches of {@code batchSize}, each with its own random subset of
     * {@code trainedSteps} steps. Draws the trajectory order first, then each trajectory's step order in the shuffled
     * order, as DDPO does.
     */
    public List<MiniBatch> epoch(Generator rng, int batchSize, int trainedSteps) {
        if (advantages == null) {
            throw new IllegalStateException("set the advantages of the " + trajectories.size()
                    + " trajectories before training on them");
        }
        if (trajectories.isEmpty()) {
            throw new IllegalStateException("no trajectories to train on");
        }
        int n = trajectories.size(), steps = trajectories.getFirst().steps();
        if (batchSize < 1 || n % batchSize != 0) {
            throw new IllegalArgumentException("batch size " + batchSize + " must divide the " + n + " trajectories");
        }
        if (trainedSteps < 1 || trainedSteps > steps) {
            throw new IllegalArgumentException("trained steps must be in [1, " + steps + "], got " + trainedSteps);
        }
        int[] order = permutation(n, rng);
        int[][] stepOrders = new int[n][];
        for (int i = 0; i < n; i++) {
            stepOrders[i] = Arrays.copyOf(permutation(steps, rng), trainedSteps);
        }
        List<MiniBatch> batches = new ArrayList<>(n / batchSize);
        for (int start = 0; start < n; start += batchSize) {
            List<Trajectory> samples = new ArrayList<>(batchSize);
            float[] batchAdvantages = new float[batchSize];
            for (int b = 0; b < batchSize; b++) {
                samples.add(trajectories.get(order[start + b]));
                batchAdvantages[b] = advantages[order[start + b]];
            }
            batches.add(new MiniBatch(samples, Arrays.copyOfRange(stepOrders, start, start + batchSize),
                    batchAdvantages));
        }
        return batches;
    }

    /** A uniformly random permutation of 0..n-1 by Fisher-Yates, consuming n uniforms from {@code rng}. */
    static int[] permutation(int n, Generator rng) {
        int[] p = new int[n];
        for (int i = 0; i < n; i++) {
            p[i] = i;
        }
        float[] u = rng.rand(n).toFloatArray();
        for (int i = n - 1; i > 0; i--) {
            // min() guards against u * (i + 1) rounding up to i + 1 for u just below 1.
            int j = Math.min((int) (u[i] * (i + 1)), i);
            int tmp = p[i];
            p[i] = p[j];
            p[j] = tmp;
        }
        return p;
    }
}
