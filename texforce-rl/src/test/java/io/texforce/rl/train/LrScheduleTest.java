package io.texforce.rl.train;

import org.junit.jupiter.api.Test;

import static org.junit.jupiter.api.Assertions.assertEquals;

/** Warm-up then cosine decay, as transformers' get_cosine_schedule_with_warmup (half a cycle). */
class LrScheduleTest {
    @Test
    void warmsUpLinearlyThenDecaysAlongACosine() {
        LrSchedule s = LrSchedule.withWarmupFraction(3e-4f, 0.03f, 200); // ceil(6) warm-up steps
        assertEquals(6, s.warmupSteps());
        assertEquals(0f, s.lr(0), 0f);
        assertEquals(3e-4f * 3 / 6, s.lr(3), 1e-9f);
        assertEquals(3e-4f, s.lr(6), 1e-9f);
        assertEquals(1.5e-4f, s.lr(6 + 97), 1e-9f);            // half way through the decay: cos(pi/2)
        assertEquals(3e-4f * 0.5f * (1 + (float) Math.cos(Math.PI * 0.25)), s.lr(6 + 194 / 4), 1e-6f);
        assertEquals(0f, s.lr(200), 1e-12f);
        assertEquals(0f, s.lr(250), 0f);
    }

    @Test
    void withoutWarmupTheFirstStepUsesTheFullRate() {
        LrSchedule s = LrSchedule.withWarmupFraction(1e-3f, 0f, 10);
        assertEquals(1e-3f, s.lr(0), 0f);
    }
}
