package io.texforce.unet.scheduler;

import io.texforce.tensor.TestData;
import io.texforce.unet.scheduler.SchedulerConfig.BetaSchedule;
import io.texforce.unet.scheduler.SchedulerConfig.PredictionType;
import io.texforce.unet.scheduler.SchedulerConfig.TimestepSpacing;
import org.junit.jupiter.api.Test;

import java.util.List;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertNull;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

/** Parsing scheduler_config.json: the fixtures, diffusers' defaults, the other beta schedules, and errors. */
class SchedulerConfigTest {

    @Test
    void readsTheSd15AndSd21Configs() {
        SchedulerConfig sd15 = SchedulerConfig.load(TestData.configs().resolve("sd15/scheduler/scheduler_config.json"));
        assertEquals(new SchedulerConfig(1000, 0.00085, 0.012, BetaSchedule.SCALED_LINEAR, null, false, 1.0, false, 1,
                PredictionType.EPSILON, TimestepSpacing.LEADING, false), sd15);
        SchedulerConfig sd21 = SchedulerConfig.load(TestData.configs().resolve("sd21/scheduler/scheduler_config.json"));
        assertEquals(PredictionType.V_PREDICTION, sd21.predictionType());
        assertEquals(TimestepSpacing.LEADING, sd21.timestepSpacing());
    }

    @Test
    void absentFieldsTakeDiffusersDefaults() {
        SchedulerConfig d = SchedulerConfig.defaults();
        assertEquals(new SchedulerConfig(1000, 0.0001, 0.02, BetaSchedule.LINEAR, null, true, 1.0, true, 0,
                PredictionType.EPSILON, TimestepSpacing.LEADING, false), d);
        // A PNDM config (as SD 1.5 ships) carries fields DDIM ignores.
        SchedulerConfig pndm = SchedulerConfig.fromJson("{\"_class_name\": \"PNDMScheduler\", \"skip_prk_steps\": true,"
                + " \"trained_betas\": null}", "pndm");
        assertNull(pndm.trainedBetas());
        assertEquals(d, pndm);
    }

    @Test
    void linearScheduleEndsAtDdpmAlphaBar() {
        float[] ac = new DdimScheduler(SchedulerConfig.defaults()).alphasCumprod();
        assertEquals(1f - 0.0001f, ac[0]);
        // DDPM's linear schedule (1e-4 .. 0.02 over 1000 steps) ends at alpha-bar = prod(1 - beta) = 4.0358e-5.
        assertEquals(4.0358e-5, ac[999], 1e-9);
    }

    @Test
    void cosineScheduleCapsBetaAt0999() {
        float[] ac = new DdimScheduler(SchedulerConfig.fromJson("{\"beta_schedule\": \"squaredcos_cap_v2\"}", "cos"))
                .alphasCumprod();
        // beta_1 = 1 - cos(1.008/1.008 * pi/2)^2 / cos(1.007/1.008 * pi/2)^2 is capped, so alpha_999 = 1 - 0.999.
        assertEquals(1f - 0.999f, ac[999] / ac[998], 1e-6f);
        // alpha-bar(t) / alpha-bar(0) telescopes: alphas_cumprod[0] = cos(0.009/1.008 pi/2)^2 / cos(0.008/1.008 pi/2)^2.
        double a0 = Math.pow(Math.cos(0.009 / 1.008 * Math.PI / 2), 2) / Math.pow(Math.cos(0.008 / 1.008 * Math.PI / 2), 2);
        assertEquals(a0, ac[0], 1e-6);
    }

    @Test
    void zeroSnrRescalingEndsAtPureNoiseAndKeepsTheFirstStep() {
        String json = "{\"beta_schedule\": \"scaled_linear\", \"beta_start\": 0.00085, \"beta_end\": 0.012, "
                + "\"rescale_betas_zero_snr\": %s}";
        float[] plain = new DdimScheduler(SchedulerConfig.fromJson(json.formatted("false"), "sd")).alphasCumprod();
        float[] zero = new DdimScheduler(SchedulerConfig.fromJson(json.formatted("true"), "sd")).alphasCumprod();
        assertEquals(0f, zero[999]);
        assertEquals(plain[0], zero[0], 1e-6f);
        assertTrue(zero[500] < plain[500], "rescaling lowers the middle of the schedule");
    }

    @Test
    void trainedBetasReplaceTheSchedule() {
        SchedulerConfig c = SchedulerConfig.fromJson("{\"num_train_timesteps\": 2, \"trained_betas\": [0.5, 0.5]}", "t");
        assertEquals(List.of(0.5, 0.5), c.trainedBetas());
        float[] ac = new DdimScheduler(c).alphasCumprod();
        assertEquals(0.5f, ac[0]);
        assertEquals(0.25f, ac[1]);
    }

    @Test
    void unknownValuesNameTheFileFieldAndChoices() {
        var e = assertThrows(IllegalArgumentException.class,
                () -> SchedulerConfig.fromJson("{\"beta_schedule\": \"sigmoid\"}", "my/scheduler_config.json"));
        assertTrue(e.getMessage().contains("my/scheduler_config.json") && e.getMessage().contains("beta_schedule")
                && e.getMessage().contains("\"sigmoid\"") && e.getMessage().contains("\"scaled_linear\""), e.getMessage());
        e = assertThrows(IllegalArgumentException.class,
                () -> SchedulerConfig.fromJson("{\"prediction_type\": \"flow\"}", "c.json"));
        assertTrue(e.getMessage().contains("prediction_type") && e.getMessage().contains("v_prediction"), e.getMessage());
        e = assertThrows(IllegalArgumentException.class,
                () -> SchedulerConfig.fromJson("{\"timestep_spacing\": \"karras\"}", "c.json"));
        assertTrue(e.getMessage().contains("timestep_spacing"), e.getMessage());
    }

    @Test
    void wrongTypesAndBadValuesAreRejected() {
        String[][] cases = {
                {"{\"num_train_timesteps\": \"1000\"}", "num_train_timesteps must be an integer"},
                {"{\"num_train_timesteps\": 0}", "num_train_timesteps must be positive"},
                {"{\"clip_sample\": 1}", "clip_sample must be true or false"},
                {"{\"beta_start\": null}", "beta_start must be a number"},
                {"{\"steps_offset\": -1}", "steps_offset must be non-negative"},
                {"{\"clip_sample_range\": 0}", "clip_sample_range must be positive"},
                {"{\"trained_betas\": [0.1, \"x\"]}", "trained_betas[1] must be a number"},
                {"{\"trained_betas\": [0.1, 0.2]}", "trained_betas has 2 values but num_train_timesteps is 1000"},
                {"{\"thresholding\": true}", "thresholding=true (dynamic thresholding) is not supported"},
                {"[1, 2]", "is not a JSON object"},
                {"{", "cannot parse"},
        };
        for (String[] c : cases) {
            var e = assertThrows(IllegalArgumentException.class, () -> SchedulerConfig.fromJson(c[0], "cfg.json"), c[0]);
            assertTrue(e.getMessage().contains(c[1]) && e.getMessage().contains("cfg.json"), e.getMessage());
        }
        assertTrue(SchedulerConfig.fromJson("{\"thresholding\": false}", "c").clipSample());
        var missing = assertThrows(IllegalArgumentException.class,
                () -> SchedulerConfig.load(TestData.root().resolve("no/such/scheduler_config.json")));
        assertTrue(missing.getMessage().contains("no/such/scheduler_config.json"), missing.getMessage());
    }
}
