package io.texforce.rl;

import java.util.ArrayDeque;
import java.util.ArrayList;
import java.util.Collections;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;

/**
 * DDPO's per-prompt advantage normalisation: each prompt keeps its last {@code bufferSize} rewards across epochs,
 * and a reward is standardised by its prompt's buffer once that holds {@code minCount} rewards, before that by the
 * current batch: {@code (r - mean) / (std + 1e-6)}, population standard deviation. Not thread-safe.
 */
public final class PerPromptStatTracker {
    public static final int DEFAULT_BUFFER_SIZE = 16;
    public static final int DEFAULT_MIN_COUNT = 16;
    /** Added to the standard deviation, as DDPO's stat_tracking.py. */
    public static final double EPSILON = 1e-6;

    private final int bufferSize;
    private final int minCount;
    private final Map<String, ArrayDeque<Float>> buffers = new LinkedHashMap<>();

    public PerPromptStatTracker(int bufferSize, int minCount) {
        if (bufferSize < 1 || minCount < 0) {
            throw new IllegalArgumentException("buffer size must be positive and min count non-negative, got "
                    + bufferSize + " and " + minCount);
        }
        this.bufferSize = bufferSize;
        this.minCount = minCount;
    }

    /** DDPO's defaults: 16 and 16. */
    public PerPromptStatTracker() {
        this(DEFAULT_BUFFER_SIZE, DEFAULT_MIN_COUNT);
    }

    public int bufferSize() {
        return bufferSize;
    }

    public int minCount() {
        return minCount;
    }

    /** Mean, population standard deviation and number of rewards in one prompt's buffer. */
    public record Stats(double mean, double std, int count) {
    }

    /** Adds a batch's rewards to their prompts' buffers and returns the batch's advantages. */
    public float[] update(List<String> prompts, float[] rewards) {
        if (prompts.size() != rewards.length) {
            throw new IllegalArgumentException(prompts.size() + " prompts for " + rewards.length + " rewards");
        }
        Map<String, List<Integer>> rows = new LinkedHashMap<>();
        for (int i = 0; i < rewards.length; i++) {
            rows.computeIfAbsent(prompts.get(i), p -> new ArrayList<>()).add(i);
        }
        Moments batch = rewards.length == 0 ? null : Moments.of(rewards, 0, rewards.length);
        float[] advantages = new float[rewards.length];
        rows.forEach((prompt, indices) -> {
            ArrayDeque<Float> buffer = buffers.computeIfAbsent(prompt, p -> new ArrayDeque<>());
            for (int i : indices) {
                if (buffer.size() == bufferSize) {
                    buffer.removeFirst();
                }
                buffer.addLast(rewards[i]);
            }
            Moments m = buffer.size() < minCount ? batch : Moments.of(toArray(buffer), 0, buffer.size());
            for (int i : indices) {
                advantages[i] = (float) ((rewards[i] - m.mean()) / (m.std() + EPSILON));
            }
        });
        return advantages;
    }

    /** Per-prompt statistics of the buffers, in first-seen order. */
    public Map<String, Stats> stats() {
        Map<String, Stats> out = new LinkedHashMap<>();
        buffers.forEach((prompt, buffer) -> {
            Moments m = Moments.of(toArray(buffer), 0, buffer.size());
            out.put(prompt, new Stats(m.mean(), m.std(), buffer.size()));
        });
        return Collections.unmodifiableMap(out);
    }

    /** The buffers, oldest reward first, for a checkpoint. */
    public Map<String, float[]> exportState() {
        Map<String, float[]> out = new LinkedHashMap<>();
        buffers.forEach((prompt, buffer) -> out.put(prompt, toArray(buffer)));
        return out;
    }

    /** Replaces the buffers with an {@link #exportState()} result, so that a resumed run continues identically. */
    public void importState(Map<String, float[]> state) {
        state.forEach((prompt, rewards) -> {
            if (rewards.length > bufferSize) {
                throw new IllegalArgumentException("saved buffer of prompt '" + prompt + "' holds " + rewards.length
                        + " rewards, more than the buffer size " + bufferSize);
            }
        });
        buffers.clear();
        state.forEach((prompt, rewards) -> {
            ArrayDeque<Float> buffer = new ArrayDeque<>(rewards.length);
            for (float r : rewards) {
                buffer.addLast(r);
            }
            buffers.put(prompt, buffer);
        });
    }

    private static float[] toArray(ArrayDeque<Float> buffer) {
        float[] out = new float[buffer.size()];
        int i = 0;
        for (float r : buffer) {
            out[i++] = r;
        }
        return out;
    }
}
