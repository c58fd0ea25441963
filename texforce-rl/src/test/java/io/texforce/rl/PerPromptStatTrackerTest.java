package io.texforce.rl;

import org.junit.jupiter.api.Test;

import java.util.List;
import java.util.Map;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

class PerPromptStatTrackerTest {
    static final double EPS = 1e-6;

    @Test
    void usesTheBatchUntilAPromptHasMinCountThenItsBuffer() {
        var tracker = new PerPromptStatTracker(3, 2);
        // Batch 1: "a" holds [1, 3] (2 >= min count): mean 2, std 1. "b" holds [2] (< 2): the batch's mean 2.
        float[] adv = tracker.update(List.of("a", "b", "a"), new float[]{1, 2, 3});
        assertArrayEquals(new float[]{(float) (-1 / (1 + EPS)), 0f, (float) (1 / (1 + EPS))}, adv, 1e-6f);
        // Batch 2: "a" holds [1, 3, 5]: mean 3, std sqrt(8/3); "b" holds [2, 4]: mean 3, std 1.
        adv = tracker.update(List.of("a", "b"), new float[]{5, 4});
        assertArrayEquals(new float[]{(float) (2 / (Math.sqrt(8.0 / 3) + EPS)), (float) (1 / (1 + EPS))}, adv, 1e-6f);
        // Batch 3: the buffer of 3 drops the oldest reward: "a" holds [3, 5, 7], mean 5 (not [1, 3, 5, 7], mean 4).
        adv = tracker.update(List.of("a"), new float[]{7});
        assertEquals(2 / (Math.sqrt(8.0 / 3) + EPS), adv[0], 1e-6);
        Map<String, PerPromptStatTracker.Stats> stats = tracker.stats();
        assertEquals(new PerPromptStatTracker.Stats(5, Math.sqrt(8.0 / 3), 3), stats.get("a"));
        assertEquals(2, stats.get("b").count());
    }

    @Test
    void epsilonIsOneEMinus6() {
        // One prompt below min count: batch mean 5e-7, std 5e-7, so (0 - 5e-7) / (5e-7 + 1e-6) = -1/3.
        float[] adv = new PerPromptStatTracker().update(List.of("p", "p"), new float[]{0f, 1e-6f});
        assertEquals(-1 / 3.0, adv[0], 1e-4);
        float[] same = new PerPromptStatTracker().update(List.of("p", "q"), new float[]{2f, 2f});
        assertArrayEquals(new float[]{0f, 0f}, same);
    }

    @Test
    void exportedStateResumesIdentically() {
        var original = new PerPromptStatTracker(4, 2);
        original.update(List.of("cat", "dog", "cat", "cat"), new float[]{0.1f, 0.7f, 0.4f, 0.9f});
        original.update(List.of("dog", "cat", "cat"), new float[]{0.2f, 0.3f, 0.8f});
        Map<String, float[]> state = original.exportState();
        // "cat" received 0.1, 0.4, 0.9, 0.3, 0.8: a buffer of 4 has dropped 0.1.
        assertArrayEquals(new float[]{0.4f, 0.9f, 0.3f, 0.8f}, state.get("cat"));
        var resumed = new PerPromptStatTracker(4, 2);
        resumed.importState(state);
        List<String> next = List.of("cat", "dog", "bird");
        float[] rewards = {0.5f, 0.6f, 0.1f};
        assertArrayEquals(original.update(next, rewards), resumed.update(next, rewards));
        assertArrayEquals(original.exportState().get("dog"), resumed.exportState().get("dog"));
    }

    @Test
    void rejectsBadInput() {
        var tracker = new PerPromptStatTracker(2, 2);
        assertThrows(IllegalArgumentException.class, () -> tracker.update(List.of("a"), new float[]{1, 2}));
        var e = assertThrows(IllegalArgumentException.class,
                () -> tracker.importState(Map.of("a", new float[]{1, 2, 3})));
        assertTrue(e.getMessage().contains("'a'") && e.getMessage().contains("buffer size 2"), e.getMessage());
        assertThrows(IllegalArgumentException.class, () -> new PerPromptStatTracker(0, 1));
    }
}
