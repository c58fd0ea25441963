package io.texforce.rl;

import io.texforce.tensor.Tensor;
import io.texforce.unet.scheduler.DdimScheduler;
import io.texforce.unet.scheduler.SchedulerConfig;
import io.texforce.unet.scheduler.StepResult;
import org.junit.jupiter.api.Test;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

class DdimPolicyTest {
    static final double LOG_SQRT_2PI = 0.5 * Math.log(2 * Math.PI);

    static DdimScheduler sd(boolean alphaToOne) {
        return new DdimScheduler(SchedulerConfig.fromJson("{\"beta_schedule\": \"scaled_linear\", \"beta_start\": 0.00085,"
                + " \"beta_end\": 0.012, \"clip_sample\": false, \"set_alpha_to_one\": " + alphaToOne
                + ", \"steps_offset\": 1}", "sd"));
    }

    @Test
    void gaussianLogProbAveragesTheDensityOverAllButTheBatch() {
        // Row 0: std 0.5, deviations 0 and 1 (= 2 std): mean of -0 and -2, minus log 0.5 and log sqrt(2 pi).
        // Row 1: std 2, deviations 2 and -2 (= 1 std each): -0.5 - log 2 - log sqrt(2 pi).
        Tensor x = Tensor.of(new float[]{1f, 2f, 2f, -2f}, 2, 2);
        Tensor mean = Tensor.of(new float[]{1f, 1f, 0f, 0f}, 2, 2);
        Tensor std = Tensor.of(new float[]{0.5f, 2f}, 2, 1);
        float[] lp = DdimPolicy.gaussianLogProb(x, mean, std).toFloatArray();
        assertEquals(-1 - Math.log(0.5) - LOG_SQRT_2PI, lp[0], 1e-6);
        assertEquals(-0.5 - Math.log(2) - LOG_SQRT_2PI, lp[1], 1e-6);
    }

    @Test
    void gradientFlowsToTheMeanButNotTheSample() {
        Tensor x = Tensor.of(new float[]{1f, 2f, 2f, -2f}, 2, 2).requiresGrad(true);
        Tensor mean = Tensor.of(new float[]{1f, 1f, 0f, 0f}, 2, 2).requiresGrad(true);
        Tensor std = Tensor.of(new float[]{0.5f, 2f}, 2, 1);
        DdimPolicy.gaussianLogProb(x, mean, std).sum().backward();
        // d/d mean of mean_i(-(x - mean)^2 / (2 s^2)) = (x - mean) / (s^2 * 2 elements).
        assertArrayEquals(new float[]{0f, 2f, 0.25f, -0.25f}, mean.grad().toFloatArray(), 1e-6f);
        assertEquals(null, x.grad());
    }

    @Test
    void logProbGradientInTheModelOutputMatchesFiniteDifferences() {
        DdimPolicy policy = new DdimPolicy(sd(false), 50, 1f);
        float[] e = {0.3f, -1.2f, 0.7f, 2.0f, -0.1f, 0.4f, 1.1f, -0.6f};
        float[] x = {1.5f, -0.5f, 0.25f, -2f, 0.9f, 0.1f, 0.3f, -1.1f};
        float[] prev = {1.2f, -0.2f, 0.5f, -1.6f, 0.4f, 0.6f, -0.2f, -0.5f};
        int[] t = {481, 21}; // different timesteps for the two samples
        Tensor eps = Tensor.of(e.clone(), 2, 4).requiresGrad(true);
        policy.logProb(eps, t, Tensor.of(x, 2, 4), Tensor.of(prev, 2, 4)).sum().backward();
        float[] grad = eps.grad().toFloatArray();
        double h = 1e-2, worst = 0;
        for (int i = 0; i < e.length; i++) {
            float[] plus = e.clone(), minus = e.clone();
            plus[i] += (float) h;
            minus[i] -= (float) h;
            double fd = (sumLogProb(policy, plus, t, x, prev) - sumLogProb(policy, minus, t, x, prev)) / (2 * h);
            worst = Math.max(worst, Math.abs(fd - grad[i]) / Math.max(1e-3, Math.abs(fd)));
        }
        System.out.printf("d log_prob / d model_output vs finite differences: max rel error %.3e%n", worst);
        assertTrue(worst < 1e-2, "relative error " + worst);
    }

    static double sumLogProb(DdimPolicy p, float[] e, int[] t, float[] x, float[] prev) {
        float[] lp = p.logProb(Tensor.of(e, 2, 4), t, Tensor.of(x, 2, 4), Tensor.of(prev, 2, 4)).toFloatArray();
        return (double) lp[0] + lp[1];
    }

    @Test
    void lastStepLandsOnTheFirstAlphaEvenWithSetAlphaToOne() {
        // DDPO clamps prev_timestep at 0: from t = 1 (50 steps) it uses alphas_cumprod[0], not the final alpha 1.
        DdimScheduler s = sd(true);
        DdimPolicy policy = new DdimPolicy(s, 50, 1f);
        assertEquals(0, policy.prevTimestep(1));
        assertEquals(-19, s.prevTimestep(1, 50));
        Tensor eps = Tensor.of(new float[]{0.5f, -0.5f}, 1, 2), x = Tensor.of(new float[]{0.1f, 0.2f}, 1, 2);
        Tensor noise = Tensor.of(new float[]{1f, -1f}, 1, 2);
        Tensor viaPolicy = policy.sample(eps, new int[]{1}, x, noise).prevSample();
        StepResult clamped = s.step(eps, new int[]{1}, new int[]{0}, x, 1f, noise);
        assertArrayEquals(clamped.prevSample().toFloatArray(), viaPolicy.toFloatArray(), 0f);
        StepResult diffusers = s.step(eps, 1, x, 1f, noise, 50);
        assertTrue(Math.abs(diffusers.prevSample().toFloatArray()[0] - viaPolicy.toFloatArray()[0]) > 1e-4,
                "diffusers' last step (to alpha 1) should differ from DDPO's");
    }

    @Test
    void etaZeroHasNoDensity() {
        var e = assertThrows(IllegalArgumentException.class, () -> new DdimPolicy(sd(false), 50, 0f));
        assertTrue(e.getMessage().contains("eta"), e.getMessage());
        assertThrows(IllegalArgumentException.class, () -> new DdimPolicy(sd(false), 0, 1f));
        assertThrows(IllegalArgumentException.class,
                () -> DdimPolicy.gaussianLogProb(Tensor.zeros(3), Tensor.zeros(3), Tensor.ones(3)));
    }

    @Test
    void aStepWithZeroSigmaIsAnError() {
        // Without steps_offset the last of 50 leading timesteps is 0, and DDPO's clamp makes the step 0 -> 0.
        DdimScheduler s = new DdimScheduler(SchedulerConfig.defaults());
        DdimPolicy policy = new DdimPolicy(s, 50, 1f);
        assertEquals(0, policy.timesteps()[49]);
        Tensor z = Tensor.zeros(1, 2);
        var e = assertThrows(IllegalArgumentException.class, () -> policy.logProb(z, new int[]{0}, z, z));
        assertTrue(e.getMessage().contains("timestep 0 to 0"), e.getMessage());
    }
}
