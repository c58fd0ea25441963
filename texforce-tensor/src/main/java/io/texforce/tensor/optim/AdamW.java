package io.texforce.tensor.optim;

import io.texforce.tensor.GradMode;
import io.texforce.tensor.Shape;
import io.texforce.tensor.Tensor;

import java.util.Arrays;
import java.util.LinkedHashMap;
import java.util.Map;

/**
 * Adam with decoupled weight decay, exactly {@code torch.optim.AdamW} (non-amsgrad): the parameter first decays by
 * {@code lr * weightDecay}, then moves by {@code lr / (1 - beta1^t) * m / (sqrt(v) / sqrt(1 - beta2^t) + eps)}.
 * Parameters are addressed by name so the state can be saved and restored with a checkpoint.
 */
public final class AdamW {
    private final Map<String, Tensor> params;
    private final Map<String, Tensor> m = new LinkedHashMap<>();
    private final Map<String, Tensor> v = new LinkedHashMap<>();
    private float lr;
    private final float beta1;
    private final float beta2;
    private final float eps;
    private final float weightDecay;
    private int step;

    public AdamW(Map<String, Tensor> params, float lr, float beta1, float beta2, float eps, float weightDecay) {
        this.params = new LinkedHashMap<>(params);
        this.lr = lr;
        this.beta1 = beta1;
        this.beta2 = beta2;
        this.eps = eps;
        this.weightDecay = weightDecay;
        for (var e : this.params.entrySet()) {
            if (!e.getValue().isContiguous()) {
                throw new IllegalArgumentException("parameter '" + e.getKey() + "' is not contiguous");
            }
            m.put(e.getKey(), e.getValue().zerosLike());
            v.put(e.getKey(), e.getValue().zerosLike());
        }
    }

    /** PyTorch's defaults: betas (0.9, 0.999), eps 1e-8, weight decay 1e-2. */
    public AdamW(Map<String, Tensor> params, float lr) {
        this(params, lr, 0.9f, 0.999f, 1e-8f, 1e-2f);
    }

    public float lr() {
        return lr;
    }

    /** Sets the learning rate for the next steps (schedulers call this). */
    public void setLr(float lr) {
        this.lr = lr;
    }

    /** Number of steps taken. */
    public int stepCount() {
        return step;
    }

    /** One update of every parameter that has a gradient (parameters without one are left untouched). */
    public void step() {
        step++;
        try (var g = GradMode.noGrad()) {
            for (var e : params.entrySet()) {
                Tensor p = e.getValue();
                if (p.grad() == null) {
                    continue;
                }
                p.backend().adamW(p, p.grad(), m.get(e.getKey()), v.get(e.getKey()), lr, beta1, beta2, eps,
                        weightDecay, step);
            }
        }
    }

    /** Clears the gradients of all parameters. */
    public void zeroGrad() {
        params.values().forEach(Tensor::zeroGrad);
    }

    /** Moment tensors by {@code exp_avg.<name>} / {@code exp_avg_sq.<name>}, plus {@code step} (1 element). */
    public Map<String, Tensor> state() {
        Map<String, Tensor> s = new LinkedHashMap<>();
        m.forEach((k, t) -> s.put("exp_avg." + k, t));
        v.forEach((k, t) -> s.put("exp_avg_sq." + k, t));
        s.put("step", Tensor.scalar(step));
        return s;
    }

    /** Restores what {@link #state()} returned; every parameter's moments must be present with matching shapes. */
    public void loadState(Map<String, Tensor> state) {
        Tensor st = state.get("step");
        if (st == null) {
            throw new IllegalArgumentException("optimizer state has no 'step'");
        }
        for (String k : params.keySet()) {
            for (var entry : Map.of("exp_avg.", m, "exp_avg_sq.", v).entrySet()) {
                String key = entry.getKey() + k;
                Tensor src = state.get(key);
                Tensor dst = entry.getValue().get(k);
                if (src == null) {
                    throw new IllegalArgumentException("optimizer state lacks '" + key + "'");
                }
                if (!Arrays.equals(src.shape(), dst.shape())) {
                    throw new IllegalArgumentException("optimizer state '" + key + "' has shape " + Shape.str(src.shape())
                            + ", parameter has " + Shape.str(dst.shape()));
                }
                dst.copyFrom(src.to(dst.backend()));
            }
        }
        step = Math.round(st.item());
    }
}
