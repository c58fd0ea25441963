package io.texforce.unet.scheduler;

import io.texforce.tensor.Tensor;
import io.texforce.tensor.Parity;
import io.texforce.tensor.TestData;
import io.texforce.tensor.io.SafeTensors;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.ValueSource;
import org.junit.jupiter.api.Test;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

/** The scheduler against diffusers 0.21's DDIMScheduler on the tiny-sd1 config (SD 1.x's schedule). */
class DdimSchedulerGoldenTest {
    static SafeTensors golden;
    static DdimScheduler scheduler;

    @BeforeAll
    static void load() {
        golden = SafeTensors.open(TestData.tinySd1().resolve("golden/golden.safetensors"));
        scheduler = DdimScheduler.load(TestData.tinySd1().resolve("scheduler/scheduler_config.json"));
    }

    @AfterAll
    static void close() {
        golden.close();
    }

    static double maxAbsDiff(Tensor a, Tensor b) {
        return Parity.maxAbsDiff(a, b);
    }

    @Test
    void alphasCumprodMatchesDiffusers() {
        float[] expected = golden.floats("scheduler.alphas_cumprod");
        float[] actual = scheduler.alphasCumprod();
        assertEquals(expected.length, actual.length);
        double maxRel = 0;
        int exact = 0;
        for (int i = 0; i < actual.length; i++) {
            maxRel = Math.max(maxRel, Math.abs((double) actual[i] - expected[i]) / expected[i]);
            exact += actual[i] == expected[i] ? 1 : 0;
        }
        System.out.printf("scheduler.alphas_cumprod max rel error %.3e, %d/%d bit-exact%n", maxRel, exact,
                actual.length);
        assertTrue(maxRel < 1e-6, "max relative error " + maxRel);
        // set_alpha_to_one is false in SD's config: the step after the last uses alphas_cumprod[0].
        assertEquals(expected[0], scheduler.finalAlphaCumprod());
    }

    @Test
    void fiftyLeadingTimestepsMatchDiffusers() {
        assertArrayEquals(golden.ints("scheduler.timesteps_50"), scheduler.timesteps(50));
    }

    @ParameterizedTest
    @ValueSource(strings = {"first", "mid", "last"})
    void etaOneStepMatchesDiffusers(String which) {
        String k = "ddim." + which + ".";
        int t = golden.ints(k + "timestep")[0];
        StepResult r = scheduler.step(golden.tensor(k + "model_output"), t, golden.tensor(k + "sample"), 1f,
                golden.tensor(k + "noise"), 50);
        double err = maxAbsDiff(r.prevSample(), golden.tensor(k + "prev_sample"));
        System.out.printf("%sprev_sample (t=%d) max abs error %.3e%n", k, t, err);
        assertTrue(err < 1e-4, "max abs error " + err);
        // The noise-free mean and sigma recombine into the same sample.
        Tensor recombined = r.mean().add(golden.tensor(k + "noise").mul(r.std()));
        assertTrue(maxAbsDiff(recombined, r.prevSample()) < 1e-6);
    }
}
