package io.texforce.unet.scheduler;

import io.texforce.tensor.Tensor;
import org.junit.jupiter.api.Test;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

/** Timestep spacings, prediction types, clipping, the final alpha and gradients, on cases worked out by hand. */
class DdimSchedulerTest {
    static final float TOL = 1e-6f;

    static DdimScheduler scheduler(String json) {
        return new DdimScheduler(SchedulerConfig.fromJson(json, "test"));
    }

    /**
     * Two training timesteps with alphas_cumprod = [0.64, 0.36] (betas 0.36 and 1 - 0.36 / 0.64 = 0.4375), so
     * sqrt(a_1) = 0.6, sqrt(1 - a_1) = 0.8 and sqrt(a_0) = 0.8: a step from t = 1 to t = 0 has round numbers.
     */
    static DdimScheduler twoStep(String prediction, boolean clip) {
        return scheduler("{\"num_train_timesteps\": 2, \"trained_betas\": [0.36, 0.4375], \"prediction_type\": \""
                + prediction + "\", \"clip_sample\": " + clip + "}");
    }

    static float only(Tensor t) {
        return t.toFloatArray()[0];
    }

    @Test
    void leadingSpacingAddsTheOffset() {
        // step_ratio = 1000 // 3 = 333: arange(3) * 333 reversed, plus steps_offset.
        assertArrayEquals(new int[]{667, 334, 1}, scheduler("{\"steps_offset\": 1}").timesteps(3));
        assertArrayEquals(new int[]{666, 333, 0}, scheduler("{}").timesteps(3));
    }

    @Test
    void trailingSpacingCountsDownFromTheEnd() {
        // round(arange(1000, 0, -1000 / n)) - 1; steps_offset does not apply.
        String json = "{\"timestep_spacing\": \"trailing\", \"steps_offset\": 1}";
        // n = 4: 1000, 750, 500, 250.
        assertArrayEquals(new int[]{999, 749, 499, 249}, scheduler(json).timesteps(4));
        // n = 3: 1000, 666.67, 333.33 round to 1000, 667, 333.
        assertArrayEquals(new int[]{999, 666, 332}, scheduler(json).timesteps(3));
        // n = 61: numpy's arange yields 62 values here, the last ~0 (diffusers then appends timestep -1);
        // we keep 61, ending at round(1000 - 60 * 16.393) - 1 = round(16.39) - 1 = 15.
        int[] t61 = scheduler(json).timesteps(61);
        assertEquals(61, t61.length);
        assertEquals(999, t61[0]);
        assertEquals(15, t61[60]);
        // prev_timestep is t - 1000 // n whatever the spacing, as in diffusers.
        assertEquals(749 - 250, scheduler(json).prevTimestep(749, 4));
    }

    @Test
    void linspaceSpacingRoundsHalfToEven() {
        // linspace(0, 999, 4) = 0, 333, 666, 999, reversed.
        assertArrayEquals(new int[]{999, 666, 333, 0}, scheduler("{\"timestep_spacing\": \"linspace\"}").timesteps(4));
        // linspace(0, 10, 5) = 0, 2.5, 5, 7.5, 10: numpy rounds 2.5 to 2 and 7.5 to 8.
        assertArrayEquals(new int[]{10, 8, 5, 2, 0},
                scheduler("{\"timestep_spacing\": \"linspace\", \"num_train_timesteps\": 11}").timesteps(5));
        assertArrayEquals(new int[]{0}, scheduler("{\"timestep_spacing\": \"linspace\"}").timesteps(1));
    }

    @Test
    void stepCountsOutsideTheTrainingRangeAreRejected() {
        DdimScheduler s = scheduler("{}");
        var e = assertThrows(IllegalArgumentException.class, () -> s.timesteps(1001));
        assertTrue(e.getMessage().contains("[1, 1000]"), e.getMessage());
        assertThrows(IllegalArgumentException.class, () -> s.timesteps(0));
        assertThrows(IllegalArgumentException.class, () -> s.alphaCumprod(1000));
    }

    @Test
    void allPredictionTypesAgreeOnTheSameX0AndNoise() {
        // x_t = 1 with x0 = 0.2 and eps = 1.1 (1 = 0.6 * 0.2 + 0.8 * 1.1). At eta = 0 the direction coefficient is
        // sqrt(1 - 0.64) = 0.6, so x_{t-1} = 0.8 * 0.2 + 0.6 * 1.1 = 0.82.
        Tensor x = Tensor.of(new float[]{1f}, 1, 1);
        float v = 0.6f * 1.1f - 0.8f * 0.2f; // v = sqrt(a) * eps - sqrt(1 - a) * x0 = 0.5
        assertEquals(0.5f, v, TOL);
        float[][] cases = {{1.1f}, {v}, {0.2f}};
        String[] types = {"epsilon", "v_prediction", "sample"};
        for (int i = 0; i < types.length; i++) {
            StepResult r = twoStep(types[i], false).step(Tensor.of(cases[i], 1, 1), 1, x, 0f, null, 2);
            assertEquals(0.2f, only(r.predOriginalSample()), TOL, types[i] + " x0");
            assertEquals(0.82f, only(r.prevSample()), TOL, types[i] + " prev sample");
        }
    }

    @Test
    void vPredictionWithEtaOneAddsScaledNoise() {
        // sigma^2 = (1 - 0.64) / (1 - 0.36) * (1 - 0.36 / 0.64) = 0.5625 * 0.4375 = 0.24609375;
        // direction = sqrt(0.36 - sigma^2) = 0.3375; mean = 0.8 * 0.2 + 0.3375 * 1.1 = 0.53125.
        StepResult r = twoStep("v_prediction", false).step(Tensor.of(new float[]{0.5f}, 1, 1), 1,
                Tensor.of(new float[]{1f}, 1, 1), 1f, Tensor.of(new float[]{2f}, 1, 1), 2);
        float sigma = (float) Math.sqrt(0.24609375);
        assertEquals(sigma, only(r.std()), TOL);
        assertEquals(0.53125f, only(r.mean()), TOL);
        assertEquals(0.53125f + 2 * sigma, only(r.prevSample()), TOL);
    }

    @Test
    void clippingBoundsX0ButKeepsThePredictedNoise() {
        // v = 1 at x = -2: x0 = 0.6 * -2 - 0.8 * 1 = -2, eps = 0.6 * 1 + 0.8 * -2 = -1.
        Tensor x = Tensor.of(new float[]{-2f}, 1, 1), v = Tensor.of(new float[]{1f}, 1, 1);
        StepResult raw = twoStep("v_prediction", false).step(v, 1, x, 0f, null, 2);
        assertEquals(-2f, only(raw.predOriginalSample()), TOL);
        assertEquals(0.8f * -2f + 0.6f * -1f, only(raw.prevSample()), TOL);
        StepResult clipped = twoStep("v_prediction", true).step(v, 1, x, 0f, null, 2);
        assertEquals(-1f, only(clipped.predOriginalSample()), TOL);
        assertEquals(0.8f * -1f + 0.6f * -1f, only(clipped.prevSample()), TOL);
    }

    @Test
    void setAlphaToOneMakesTheLastStepReturnX0() {
        // From t = 0 the step lands on -1: with set_alpha_to_one, alpha_prev = 1 and x_{-1} = x0 exactly.
        String json = "{\"num_train_timesteps\": 2, \"trained_betas\": [0.36, 0.4375], \"clip_sample\": false, "
                + "\"set_alpha_to_one\": %s}";
        Tensor eps = Tensor.of(new float[]{1.1f}, 1, 1), x = Tensor.of(new float[]{1f}, 1, 1);
        DdimScheduler one = scheduler(json.formatted("true"));
        assertEquals(1f, one.finalAlphaCumprod());
        StepResult r = one.step(eps, 0, x, 1f, null, 2);
        assertEquals(only(r.predOriginalSample()), only(r.prevSample()), TOL);
        assertEquals(0f, only(r.std()), 0f);
        // Without it the final alpha is alphas_cumprod[0] = 0.64, as at t = 0 itself: variance 0, x_{-1} = x_0 = x.
        DdimScheduler notOne = scheduler(json.formatted("false"));
        assertEquals(0.64f, notOne.finalAlphaCumprod(), TOL);
        assertEquals(1f, only(notOne.step(eps, 0, x, 1f, null, 2).prevSample()), TOL);
    }

    @Test
    void perSampleTimestepsEqualSeparateSteps() {
        DdimScheduler s = scheduler("{\"beta_schedule\": \"scaled_linear\", \"beta_start\": 0.00085, "
                + "\"beta_end\": 0.012, \"clip_sample\": false}");
        float[] eps = {0.3f, -1.2f, 0.7f, 2.0f, -0.1f, 0.4f}, x = {1.5f, -0.5f, 0.25f, -2f, 0.9f, 0.1f};
        float[] noise = {0.2f, 0.1f, -0.3f, 1.0f, -1.5f, 0.6f};
        StepResult both = s.step(Tensor.of(eps, 2, 3), new int[]{981, 41}, new int[]{961, 21}, Tensor.of(x, 2, 3),
                1f, Tensor.of(noise, 2, 3));
        float[] got = both.prevSample().toFloatArray();
        int[] t = {981, 41};
        for (int b = 0; b < 2; b++) {
            StepResult one = s.step(Tensor.of(slice(eps, b), 1, 3), t[b], Tensor.of(slice(x, b), 1, 3), 1f,
                    Tensor.of(slice(noise, b), 1, 3), 50);
            assertArrayEquals(one.prevSample().toFloatArray(), slice(got, b), 0f, "sample " + b);
        }
        assertArrayEquals(new int[]{2, 1}, both.std().shape());
    }

    static float[] slice(float[] a, int row) {
        return java.util.Arrays.copyOfRange(a, row * 3, row * 3 + 3);
    }

    @Test
    void meanIsDifferentiableInTheModelOutput() {
        // Epsilon prediction, eta = 1, t = 1 -> 0 on the two-step schedule:
        // d mean / d eps = -sqrt(a_prev) * sqrt(1 - a_t) / sqrt(a_t) + direction = -0.8 * 0.8 / 0.6 + 0.3375.
        DdimScheduler s = twoStep("epsilon", true);
        Tensor eps = Tensor.of(new float[]{0.1f, 5f}, 2, 1).requiresGrad(true);
        Tensor x = Tensor.of(new float[]{0.1f, 0.1f}, 2, 1);
        StepResult r = s.step(eps, 1, x, 1f, Tensor.of(new float[]{1f, 1f}, 2, 1), 2);
        r.prevSample().sum().backward();
        float[] g = eps.grad().toFloatArray();
        assertEquals(-0.8f * 0.8f / 0.6f + 0.3375f, g[0], 1e-5f);
        // eps = 5 drives x0 = (0.1 - 4) / 0.6 below -1: the clip cuts that path, leaving the direction term.
        assertEquals(0.3375f, g[1], 1e-5f);
    }

    @Test
    void addNoiseUsesEachSamplesTimestep() {
        DdimScheduler s = twoStep("epsilon", true);
        Tensor x = Tensor.of(new float[]{1f, 1f}, 2, 1), n = Tensor.of(new float[]{2f, 2f}, 2, 1);
        // t = 1: 0.6 * 1 + 0.8 * 2; t = 0: 0.8 * 1 + 0.6 * 2.
        assertArrayEquals(new float[]{2.2f, 2.0f}, s.addNoise(x, n, new int[]{1, 0}).toFloatArray(), TOL);
        assertThrows(IllegalArgumentException.class, () -> s.addNoise(x, n, new int[]{1, 0, 1}));
    }

    @Test
    void stepRejectsMismatchedShapes() {
        DdimScheduler s = scheduler("{}");
        Tensor a = Tensor.zeros(2, 3), b = Tensor.zeros(2, 4);
        var e = assertThrows(IllegalArgumentException.class, () -> s.step(a, 981, b, 0f, null, 50));
        assertTrue(e.getMessage().contains("[2, 3]") && e.getMessage().contains("[2, 4]"), e.getMessage());
        assertThrows(IllegalArgumentException.class,
                () -> s.step(a, new int[]{1, 2, 3}, new int[]{0, 1, 2}, a, 0f, null));
        assertThrows(IllegalArgumentException.class, () -> s.step(a, 981, a, -1f, null, 50));
    }
}
