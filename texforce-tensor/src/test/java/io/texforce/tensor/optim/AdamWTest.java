package io.texforce.tensor.optim;

import io.texforce.tensor.Tensor;
import org.junit.jupiter.api.Test;

import java.util.List;
import java.util.Map;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;

class AdamWTest {

    @Test
    void firstStepMatchesPyTorchByHand() {
        // torch.optim.AdamW([p], lr=0.1) with p=1, grad=0.5: decay to 0.999, then m_hat/sqrt(v_hat) = 1 -> 0.899.
        Tensor p = Tensor.of(new float[]{1f}, 1).requiresGrad(true);
        AdamW opt = new AdamW(Map.of("p", p), 0.1f);
        p.mul(0.5f).sum().backward();
        opt.step();
        assertEquals(0.899f, p.item(), 1e-6f);
    }

    @Test
    void severalStepsFollowTheReferenceRecurrence() {
        float lr = 3e-4f, b1 = 0.9f, b2 = 0.999f, eps = 1e-8f, wd = 1e-4f;
        Tensor p = Tensor.of(new float[]{0.3f, -1.2f}, 2).requiresGrad(true);
        AdamW opt = new AdamW(Map.of("p", p), lr, b1, b2, eps, wd);
        double[] ref = {0.3, -1.2}, m = new double[2], v = new double[2];
        for (int t = 1; t <= 5; t++) {
            opt.zeroGrad();
            p.square().mul(Tensor.of(new float[]{1f, 3f}, 2)).sum().backward(); // grad = 2 * w * p
            double[] g = {2 * 1 * ref[0], 2 * 3 * ref[1]};
            opt.step();
            for (int i = 0; i < 2; i++) {
                ref[i] *= 1 - lr * wd;
                m[i] = b1 * m[i] + (1 - b1) * g[i];
                v[i] = b2 * v[i] + (1 - b2) * g[i] * g[i];
                double mh = m[i] / (1 - Math.pow(b1, t));
                double denom = Math.sqrt(v[i]) / Math.sqrt(1 - Math.pow(b2, t)) + eps;
                ref[i] -= lr * mh / denom;
            }
        }
        assertArrayEquals(new float[]{(float) ref[0], (float) ref[1]}, p.toFloatArray(), 1e-6f);
        assertEquals(5, opt.stepCount());
    }

    @Test
    void stateRoundTripResumesIdentically() {
        Tensor a = Tensor.of(new float[]{1f, 2f}, 2).requiresGrad(true);
        Tensor b = Tensor.of(new float[]{1f, 2f}, 2).requiresGrad(true);
        AdamW oa = new AdamW(Map.of("w", a), 0.01f);
        AdamW ob = new AdamW(Map.of("w", b), 0.01f);
        for (int i = 0; i < 3; i++) {
            oa.zeroGrad();
            a.square().sum().backward();
            oa.step();
        }
        b.copyFrom(a);
        ob.loadState(oa.state());
        oa.zeroGrad();
        ob.zeroGrad();
        a.square().sum().backward();
        b.square().sum().backward();
        oa.step();
        ob.step();
        assertArrayEquals(a.toFloatArray(), b.toFloatArray(), 0f);
    }

    @Test
    void missingStateIsNamed() {
        Tensor a = Tensor.of(new float[]{1f}, 1).requiresGrad(true);
        AdamW opt = new AdamW(Map.of("layer.w", a), 0.01f);
        var e = assertThrows(IllegalArgumentException.class,
                () -> opt.loadState(Map.of("step", Tensor.scalar(1f))));
        assertEquals(true, e.getMessage().contains("layer.w"), e.getMessage());
    }

    @Test
    void clipGradNormScalesToMaxNorm() {
        Tensor a = Tensor.of(new float[]{3f}, 1).requiresGrad(true);
        Tensor b = Tensor.of(new float[]{4f}, 1).requiresGrad(true);
        a.mul(3f).add(b.mul(4f)).sum().backward(); // grads 3 and 4: norm 5
        float norm = GradClip.clipGradNorm(List.of(a, b), 1f);
        assertEquals(5f, norm, 1e-6f);
        assertEquals(0.6f, a.grad().item(), 1e-5f);
        assertEquals(0.8f, b.grad().item(), 1e-5f);
        float again = GradClip.clipGradNorm(List.of(a, b), 10f);
        assertEquals(1f, again, 1e-5f);
        assertEquals(0.6f, a.grad().item(), 1e-5f);
    }
}
