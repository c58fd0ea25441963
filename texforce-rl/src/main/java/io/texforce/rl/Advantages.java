package io.texforce.rl;

/** Reward-to-advantage transforms of DDPO's trainer. */
public final class Advantages {
    /** Added to the standard deviation by DDPO's global normalisation (the per-prompt tracker adds 1e-6). */
    public static final double GLOBAL_EPSILON = 1e-8;

    private Advantages() {
    }

    /** {@code (r - mean) / (std + 1e-8)} over the whole batch, with the population (ddof 0) standard deviation. */
    public static float[] normalize(float[] rewards) {
        if (rewards.length == 0) {
            throw new IllegalArgumentException("cannot normalise an empty batch of rewards");
        }
        Moments m = Moments.of(rewards, 0, rewards.length);
        double scale = 1 / (m.std() + GLOBAL_EPSILON);
        float[] out = new float[rewards.length];
        for (int i = 0; i < out.length; i++) {
            out[i] = (float) ((rewards[i] - m.mean()) * scale);
        }
        return out;
    }

    /** Clamps each advantage to [-max, max], as DDPO's {@code adv_clip_max}. */
    public static float[] clip(float[] advantages, float max) {
        if (!(max > 0)) {
            throw new IllegalArgumentException("advantage clip must be positive, got " + max);
        }
        float[] out = new float[advantages.length];
        for (int i = 0; i < out.length; i++) {
            out[i] = Math.clamp(advantages[i], -max, max);
        }
        return out;
    }
}
