package io.texforce.rl;

import org.junit.jupiter.api.Test;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;

class AdvantagesTest {

    @Test
    void normalizesWithThePopulationStd() {
        // mean 2.5, population std sqrt(1.25) = 1.1180340 (the sample std would be 1.2909944).
        float[] a = Advantages.normalize(new float[]{1, 2, 3, 4});
        assertArrayEquals(new float[]{-1.3416408f, -0.4472136f, 0.4472136f, 1.3416408f}, a, 1e-6f);
    }

    @Test
    void epsilonIsOneEMinus8() {
        // mean 1e-8, std 1e-8: (0 - 1e-8) / (1e-8 + 1e-8) = -0.5; with the tracker's 1e-6 it would be -0.0099.
        assertEquals(-0.5f, Advantages.normalize(new float[]{0f, 2e-8f})[0], 1e-3f);
        assertArrayEquals(new float[]{0f, 0f}, Advantages.normalize(new float[]{3f, 3f}));
    }

    @Test
    void clipsSymmetrically() {
        assertArrayEquals(new float[]{-5f, 0.5f, 5f}, Advantages.clip(new float[]{-7f, 0.5f, 6f}, 5f));
        assertThrows(IllegalArgumentException.class, () -> Advantages.clip(new float[]{1f}, 0f));
        assertThrows(IllegalArgumentException.class, () -> Advantages.normalize(new float[0]));
    }
}
