package io.texforce.rl.train;

/**
 * Linear warm-up over the first {@code warmupSteps} optimizer steps, then cosine decay to zero at
 * {@code totalSteps} (transformers' {@code get_cosine_schedule_with_warmup} with half a cycle).
 */
public record LrSchedule(float baseLr, int warmupSteps, int totalSteps) {

    /** The paper code's schedule: warm-up over 3% of the steps. */
    public static LrSchedule withWarmupFraction(float baseLr, float fraction, int totalSteps) {
        return new LrSchedule(baseLr, (int) Math.ceil(fraction * totalSteps), totalSteps);
    }

    /** The learning rate for optimizer step {@code step} (0-based). */
    public float lr(int step) {
        if (step < warmupSteps) {
            return baseLr * step / Math.max(1, warmupSteps);
        }
        double progress = (double) (step - warmupSteps) / Math.max(1, totalSteps - warmupSteps);
        return (float) (baseLr * Math.max(0.0, 0.5 * (1.0 + Math.cos(Math.PI * Math.min(1.0, progress)))));
    }
}
