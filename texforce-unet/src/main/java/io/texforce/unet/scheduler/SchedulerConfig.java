package io.texforce.unet.scheduler;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;

import java.io.IOException;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.List;
import java.util.function.Function;
import java.util.stream.Collectors;

/**
 * The fields of a diffusers {@code scheduler_config.json} that define a DDIM schedule. Absent fields take
 * diffusers' {@code DDIMScheduler} defaults; fields that belong to other schedulers (a PNDM config's
 * {@code skip_prk_steps}, ...) are ignored, as {@code DDIMScheduler.from_config} ignores them.
 *
 * @param trainedBetas explicit betas replacing {@code betaSchedule}, or null
 */
public record SchedulerConfig(int numTrainTimesteps, double betaStart, double betaEnd, BetaSchedule betaSchedule,
                              List<Double> trainedBetas, boolean clipSample, double clipSampleRange,
                              boolean setAlphaToOne, int stepsOffset, PredictionType predictionType,
                              TimestepSpacing timestepSpacing, boolean rescaleBetasZeroSnr) {

    /** How betas grow over the training timesteps. */
    public enum BetaSchedule {
        LINEAR("linear"), SCALED_LINEAR("scaled_linear"), SQUAREDCOS_CAP_V2("squaredcos_cap_v2");

        private final String json;

        BetaSchedule(String json) {
            this.json = json;
        }

        public String json() {
            return json;
        }
    }

    /** What the U-Net predicts. */
    public enum PredictionType {
        EPSILON("epsilon"), V_PREDICTION("v_prediction"), SAMPLE("sample");

        private final String json;

        PredictionType(String json) {
            this.json = json;
        }

        public String json() {
            return json;
        }
    }

    /** How inference timesteps are spread over the training range (Table 2 of arXiv:2305.08891). */
    public enum TimestepSpacing {
        LEADING("leading"), TRAILING("trailing"), LINSPACE("linspace");

        private final String json;

        TimestepSpacing(String json) {
            this.json = json;
        }

        public String json() {
            return json;
        }
    }

    public SchedulerConfig {
        if (numTrainTimesteps < 1) {
            throw new IllegalArgumentException("num_train_timesteps must be positive, got " + numTrainTimesteps);
        }
        if (trainedBetas != null) {
            if (trainedBetas.size() != numTrainTimesteps) {
                throw new IllegalArgumentException("trained_betas has " + trainedBetas.size()
                        + " values but num_train_timesteps is " + numTrainTimesteps);
            }
            trainedBetas = List.copyOf(trainedBetas);
        } else if (!(betaStart > 0 && betaEnd > 0)) {
            throw new IllegalArgumentException("beta_start and beta_end must be positive, got " + betaStart + " and "
                    + betaEnd);
        }
        if (!(clipSampleRange > 0)) {
            throw new IllegalArgumentException("clip_sample_range must be positive, got " + clipSampleRange);
        }
        if (stepsOffset < 0) {
            throw new IllegalArgumentException("steps_offset must be non-negative, got " + stepsOffset);
        }
        if (betaSchedule == null || predictionType == null || timestepSpacing == null) {
            throw new IllegalArgumentException("beta_schedule, prediction_type and timestep_spacing are required");
        }
    }

    /** diffusers' {@code DDIMScheduler()} with no arguments. */
    public static SchedulerConfig defaults() {
        return fromJson("{}", "default DDIM config");
    }

    /** Reads {@code scheduler_config.json}. */
    public static SchedulerConfig load(Path configJson) {
        JsonNode root;
        try {
            root = new ObjectMapper().readTree(configJson.toFile());
        } catch (IOException e) {
            throw new IllegalArgumentException("cannot read scheduler config " + configJson + ": " + e.getMessage(), e);
        }
        return fromJson(root, configJson.toString());
    }

    /** Parses scheduler config JSON text; {@code source} names it in error messages. */
    public static SchedulerConfig fromJson(String json, String source) {
        try {
            return fromJson(new ObjectMapper().readTree(json), source);
        } catch (IOException e) {
            throw new IllegalArgumentException("cannot parse scheduler config " + source + ": " + e.getMessage(), e);
        }
    }

    private static SchedulerConfig fromJson(JsonNode root, String source) {
        if (root == null || !root.isObject()) {
            throw new IllegalArgumentException("scheduler config " + source + " is not a JSON object");
        }
        var fields = new Fields(root, source);
        if (fields.bool("thresholding", false)) {
            throw new IllegalArgumentException("scheduler config " + source
                    + ": thresholding=true (dynamic thresholding) is not supported");
        }
        int numTrainTimesteps = fields.integer("num_train_timesteps", 1000);
        double betaStart = fields.number("beta_start", 0.0001);
        double betaEnd = fields.number("beta_end", 0.02);
        BetaSchedule betaSchedule = fields.choice("beta_schedule", BetaSchedule.values(), BetaSchedule.LINEAR,
                BetaSchedule::json);
        List<Double> trainedBetas = fields.numbersOrNull("trained_betas");
        boolean clipSample = fields.bool("clip_sample", true);
        double clipSampleRange = fields.number("clip_sample_range", 1.0);
        boolean setAlphaToOne = fields.bool("set_alpha_to_one", true);
        int stepsOffset = fields.integer("steps_offset", 0);
        PredictionType predictionType = fields.choice("prediction_type", PredictionType.values(),
                PredictionType.EPSILON, PredictionType::json);
        TimestepSpacing timestepSpacing = fields.choice("timestep_spacing", TimestepSpacing.values(),
                TimestepSpacing.LEADING, TimestepSpacing::json);
        boolean rescaleBetasZeroSnr = fields.bool("rescale_betas_zero_snr", false);
        try {
            return new SchedulerConfig(numTrainTimesteps, betaStart, betaEnd, betaSchedule, trainedBetas, clipSample,
                    clipSampleRange, setAlphaToOne, stepsOffset, predictionType, timestepSpacing, rescaleBetasZeroSnr);
        } catch (IllegalArgumentException e) {
            // The constructor's range checks name the field; add the file.
            throw new IllegalArgumentException("scheduler config " + source + ": " + e.getMessage(), e);
        }
    }

    /** Typed, strictly checked access to the JSON fields; every error names the file and the field. */
    private record Fields(JsonNode root, String source) {

        private IllegalArgumentException error(String field, String expected, JsonNode value) {
            return new IllegalArgumentException("scheduler config " + source + ": " + field + " must be " + expected
                    + ", got " + value);
        }

        int integer(String field, int fallback) {
            JsonNode v = root.get(field);
            if (v == null) {
                return fallback;
            }
            if (!v.isIntegralNumber() || !v.canConvertToInt()) {
                throw error(field, "an integer", v);
            }
            return v.intValue();
        }

        double number(String field, double fallback) {
            JsonNode v = root.get(field);
            if (v == null) {
                return fallback;
            }
            if (!v.isNumber()) {
                throw error(field, "a number", v);
            }
            return v.doubleValue();
        }

        boolean bool(String field, boolean fallback) {
            JsonNode v = root.get(field);
            if (v == null) {
                return fallback;
            }
            if (!v.isBoolean()) {
                throw error(field, "true or false", v);
            }
            return v.booleanValue();
        }

        List<Double> numbersOrNull(String field) {
            JsonNode v = root.get(field);
            if (v == null || v.isNull()) {
                return null;
            }
            if (!v.isArray()) {
                throw error(field, "an array of numbers or null", v);
            }
            List<Double> out = new ArrayList<>(v.size());
            for (int i = 0; i < v.size(); i++) {
                if (!v.get(i).isNumber()) {
                    throw error(field + "[" + i + "]", "a number", v.get(i));
                }
                out.add(v.get(i).doubleValue());
            }
            return out;
        }

        <E extends Enum<E>> E choice(String field, E[] values, E fallback, Function<E, String> name) {
            JsonNode v = root.get(field);
            if (v == null) {
                return fallback;
            }
            for (E e : values) {
                if (v.isTextual() && v.textValue().equals(name.apply(e))) {
                    return e;
                }
            }
            String allowed = Arrays.stream(values).map(e -> "\"" + name.apply(e) + "\"").collect(Collectors.joining(", "));
            throw error(field, "one of " + allowed, v);
        }
    }
}
