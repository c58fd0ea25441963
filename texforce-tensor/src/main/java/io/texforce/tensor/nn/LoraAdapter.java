package io.texforce.tensor.nn;

import io.texforce.tensor.Tensor;

/**
 * One low-rank adapter on a layer: {@code delta W = weight * (alpha / rank) * up @ down}, with down (peft's
 * {@code lora_A}) of shape [rank, in] (or [rank, in, kh, kw] on a convolution) and up ({@code lora_B}) of shape
 * [out, rank] (or [out, rank, 1, 1]).
 */
public final class LoraAdapter {
    private final String name;
    private final Tensor down;
    private final Tensor up;
    private final float alpha;
    private float weight;
    private boolean enabled = true;
    private boolean merged;

    public LoraAdapter(String name, Tensor down, Tensor up, float alpha, float weight) {
        if (down.size(0) != up.size(1)) {
            throw new IllegalArgumentException("LoRA '" + name + "': down " + java.util.Arrays.toString(down.shape())
                    + " and up " + java.util.Arrays.toString(up.shape()) + " disagree on the rank");
        }
        this.name = name;
        this.down = down;
        this.up = up;
        this.alpha = alpha;
        this.weight = weight;
    }

    public String name() {
        return name;
    }

    /** peft's lora_A. */
    public Tensor down() {
        return down;
    }

    /** peft's lora_B. */
    public Tensor up() {
        return up;
    }

    public int rank() {
        return down.size(0);
    }

    public float alpha() {
        return alpha;
    }

    /** The user's blend weight (1 for a single adapter at full strength). */
    public float weight() {
        return weight;
    }

    public void setWeight(float weight) {
        if (merged) {
            throw new IllegalStateException("LoRA '" + name + "' is merged: unmerge before changing its weight");
        }
        this.weight = weight;
    }

    /** The factor applied to up @ down: weight * alpha / rank. */
    public float scale() {
        return weight * alpha / rank();
    }

    public boolean enabled() {
        return enabled;
    }

    public void setEnabled(boolean enabled) {
        this.enabled = enabled;
    }

    public boolean merged() {
        return merged;
    }

    void setMerged(boolean merged) {
        this.merged = merged;
    }

    /** Whether the forward pass must add this adapter's path (enabled and not already folded into the weight). */
    boolean active() {
        return enabled && !merged && weight != 0f;
    }

    /** scale * up @ down, flattened to [out, in * kh * kw]. */
    Tensor delta() {
        int r = rank();
        Tensor u = up.reshape(up.size(0), r);
        Tensor d = down.reshape(r, -1);
        return u.matmul(d).mul(scale());
    }
}
