package io.texforce.rl;

import io.texforce.tensor.Tensor;
import io.texforce.tensor.random.Generator;
import org.junit.jupiter.api.Test;

import java.util.Arrays;
import java.util.HashMap;
import java.util.HashSet;
import java.util.List;
import java.util.Map;
import java.util.Set;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertNotEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

class TrajectoryBufferTest {
    static final int STEPS = 5;
    static final int[] TIMESTEPS = {81, 61, 41, 21, 1};

    /** Trajectory i: latent s is filled with 100 i + s, log-probability of step s is -(i + s / 10), reward i. */
    static Trajectory trajectory(int i) {
        float[] latents = new float[(STEPS + 1) * 2];
        for (int s = 0; s <= STEPS; s++) {
            latents[2 * s] = latents[2 * s + 1] = 100 * i + s;
        }
        float[] logProbs = new float[STEPS];
        for (int s = 0; s < STEPS; s++) {
            logProbs[s] = -(i + s / 10f);
        }
        return new Trajectory("prompt " + i, new int[]{49406, i, 49407}, "", Tensor.of(latents, STEPS + 1, 1, 1, 2),
                TIMESTEPS, logProbs, i);
    }

    static TrajectoryBuffer buffer(int n) {
        var buffer = new TrajectoryBuffer();
        for (int i = 0; i < n; i++) {
            buffer.add(trajectory(i));
        }
        float[] adv = new float[n];
        for (int i = 0; i < n; i++) {
            adv[i] = 10 * i;
        }
        buffer.setAdvantages(adv);
        return buffer;
    }

    @Test
    void batchesGatherTheRightLatentsTimestepsAndLogProbs() {
        List<MiniBatch> epoch = buffer(6).epoch(new Generator(7), 2, 3);
        assertEquals(3, epoch.size());
        Set<Integer> seen = new HashSet<>();
        for (MiniBatch batch : epoch) {
            assertEquals(2, batch.size());
            assertEquals(3, batch.trainedSteps());
            float[] adv = batch.advantages().toFloatArray();
            for (int j = 0; j < 3; j++) {
                float[] x = batch.latents(j).toFloatArray(), next = batch.nextLatents(j).toFloatArray();
                assertArrayEquals(new int[]{2, 1, 1, 2}, batch.latents(j).shape());
                int[] t = batch.timesteps(j);
                float[] old = batch.oldLogProbs(j).toFloatArray();
                for (int b = 0; b < 2; b++) {
                    int i = (int) batch.samples().get(b).reward(), s = batch.stepIndex(b, j);
                    assertEquals(100 * i + s, x[2 * b]);
                    assertEquals(100 * i + s + 1, next[2 * b + 1]);
                    assertEquals(TIMESTEPS[s], t[b]);
                    assertEquals(-(i + s / 10f), old[b]);
                    assertEquals(10 * i, adv[b]);
                }
            }
            for (int b = 0; b < 2; b++) {
                seen.add((int) batch.samples().get(b).reward());
                Set<Integer> steps = new HashSet<>();
                for (int j = 0; j < 3; j++) {
                    steps.add(batch.stepIndex(b, j));
                }
                assertEquals(3, steps.size(), "trained steps of one trajectory are distinct");
                assertTrue(steps.stream().allMatch(s -> s >= 0 && s < STEPS));
            }
        }
        assertEquals(Set.of(0, 1, 2, 3, 4, 5), seen, "every trajectory is trained once per epoch");
    }

    @Test
    void epochsAreReproducibleFromTheSeed() {
        var rng = new Generator(7);
        String first = describe(buffer(6).epoch(rng, 3, 2));
        // One permutation of 6 trajectories and six of 5 steps: 6 + 6 * 5 uniforms.
        assertEquals(36, rng.offset());
        assertEquals(first, describe(buffer(6).epoch(new Generator(7), 3, 2)));
        assertNotEquals(first, describe(buffer(6).epoch(new Generator(8), 3, 2)));
        assertNotEquals(first, describe(buffer(6).epoch(rng, 3, 2)), "the next epoch draws new permutations");
    }

    static String describe(List<MiniBatch> epoch) {
        StringBuilder sb = new StringBuilder();
        for (MiniBatch m : epoch) {
            for (int b = 0; b < m.size(); b++) {
                sb.append(m.samples().get(b).prompt()).append(Arrays.toString(m.timesteps(0)));
            }
        }
        return sb.toString();
    }

    @Test
    void permutationsAreUniform() {
        // 6000 permutations of 3: each of the 6 orders expects 1000 (sd 29). A shuffle swapping with any position
        // (a classic bug) gives 889 and 1111 for some orders.
        var rng = new Generator(123);
        Map<String, Integer> counts = new HashMap<>();
        for (int k = 0; k < 6000; k++) {
            counts.merge(Arrays.toString(TrajectoryBuffer.permutation(3, rng)), 1, Integer::sum);
        }
        assertEquals(6, counts.size());
        counts.forEach((p, c) -> assertTrue(c > 910 && c < 1090, p + " drawn " + c + " times"));
    }

    @Test
    void rejectsInconsistentData() {
        var buffer = new TrajectoryBuffer();
        buffer.add(trajectory(0));
        assertThrows(IllegalStateException.class, () -> buffer.epoch(new Generator(1), 1, 1), "no advantages");
        var e = assertThrows(IllegalArgumentException.class, () -> buffer.add(new Trajectory("x", new int[0], "",
                Tensor.zeros(STEPS + 1, 4, 1, 1), TIMESTEPS, new float[STEPS], 0)));
        assertTrue(e.getMessage().contains("[6, 4, 1, 1]") && e.getMessage().contains("[6, 1, 1, 2]"), e.getMessage());
        assertThrows(IllegalArgumentException.class, () -> new Trajectory("x", new int[0], "",
                Tensor.zeros(STEPS, 1, 1, 2), TIMESTEPS, new float[STEPS], 0));
        assertThrows(IllegalArgumentException.class, () -> new Trajectory("x", new int[0], "",
                Tensor.zeros(STEPS + 1, 1, 1, 2), TIMESTEPS, new float[STEPS - 1], 0));
        assertThrows(IllegalArgumentException.class, () -> buffer.setAdvantages(new float[2]));
        TrajectoryBuffer six = buffer(6);
        assertThrows(IllegalArgumentException.class, () -> six.epoch(new Generator(1), 4, 2));
        assertThrows(IllegalArgumentException.class, () -> six.epoch(new Generator(1), 2, STEPS + 1));
        six.add(trajectory(6));
        assertThrows(IllegalStateException.class, () -> six.epoch(new Generator(1), 1, 1),
                "adding a trajectory clears the advantages");
    }
}
