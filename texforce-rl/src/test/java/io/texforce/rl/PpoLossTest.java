package io.texforce.rl;

import io.texforce.tensor.Tensor;
import io.texforce.tensor.TestData;
import io.texforce.tensor.io.SafeTensors;
import org.junit.jupiter.api.Test;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

class PpoLossTest {
    static Tensor vec(float... v) {
        return Tensor.of(v, v.length);
    }

    @Test
    void reproducesTheGoldenPpoLoss() {
        try (var g = SafeTensors.open(TestData.tinySd1().resolve("golden/golden.safetensors"))) {
            Tensor logp = g.tensor("ppo.out.log_prob"), old = g.tensor("ppo.in.old_log_prob");
            Tensor adv = g.tensor("ppo.in.advantages");
            for (String clip : new String[]{"0.5", "1e-4"}) {
                float loss = PpoLoss.compute(logp, old, adv, Float.parseFloat(clip)).loss().item();
                float expected = g.floats("ppo.out.loss_clip_" + clip)[0];
                System.out.printf("ppo.out.loss_clip_%s abs error %.3e%n", clip, Math.abs(loss - expected));
                assertEquals(expected, loss, 1e-6f);
            }
        }
    }

    @Test
    void clippedSamplesGetNoGradient() {
        // clip 0.2, old = 0: ratios 1.5, 1.5, 0.5, 1.1 with advantages 1, -1, 1, 2.
        //   A= 1, r=1.5: max(-1.5, -1.2) = -1.2, clipped: gradient 0
        //   A=-1, r=1.5: max( 1.5,  1.2) =  1.5, d/dlogp = -A * r = 1.5
        //   A= 1, r=0.5: max(-0.5, -0.8) = -0.5, d/dlogp = -0.5
        //   A= 2, r=1.1: inside the interval, -2.2, d/dlogp = -2.2
        // loss = (-1.2 + 1.5 - 0.5 - 2.2) / 4 = -0.6, gradients divided by 4.
        float[] lp = {(float) Math.log(1.5), (float) Math.log(1.5), (float) Math.log(0.5), (float) Math.log(1.1)};
        Tensor logp = vec(lp.clone()).requiresGrad(true);
        PpoLoss r = PpoLoss.compute(logp, vec(0, 0, 0, 0), vec(1, -1, 1, 2), 0.2f);
        assertEquals(-0.6f, r.loss().item(), 1e-6f);
        r.loss().backward();
        assertArrayEquals(new float[]{0f, 0.375f, -0.125f, -0.55f}, logp.grad().toFloatArray(), 1e-6f);
        assertEquals(0.75f, r.clipFraction());
        double kl = 0;
        for (float v : lp) {
            kl += 0.5 * v * v / 4;
        }
        assertEquals(kl, r.approxKl(), 1e-6);
    }

    @Test
    void gradientMatchesFiniteDifferences() {
        float[] lp = {-0.31f, 0.05f, 0.42f, -0.12f, 0.2f, -0.6f};
        float[] old = {-0.1f, -0.1f, 0.1f, 0.0f, 0.0f, 0.0f};
        float[] adv = {1.3f, -0.7f, 2.0f, 0.4f, -1.1f, -0.9f};
        float clip = 0.15f;
        Tensor logp = vec(lp.clone()).requiresGrad(true);
        PpoLoss.compute(logp, vec(old), vec(adv), clip).loss().backward();
        float[] grad = logp.grad().toFloatArray();
        double h = 1e-3, worst = 0;
        int zero = 0;
        for (int i = 0; i < lp.length; i++) {
            float[] plus = lp.clone(), minus = lp.clone();
            plus[i] += (float) h;
            minus[i] -= (float) h;
            double fd = (PpoLoss.compute(vec(plus), vec(old), vec(adv), clip).loss().item()
                    - PpoLoss.compute(vec(minus), vec(old), vec(adv), clip).loss().item()) / (2 * h);
            worst = Math.max(worst, Math.abs(fd - grad[i]));
            zero += grad[i] == 0 ? 1 : 0;
        }
        System.out.printf("PPO loss gradient vs finite differences: max abs error %.3e (%d clipped)%n", worst, zero);
        assertTrue(worst < 1e-3, "max abs error " + worst);
        // Samples 2 (A > 0, ratio 1.38 > 1.15) and 5 (A < 0, ratio 0.55 < 0.85) are clipped.
        assertEquals(2, zero, "clipped samples");
    }

    @Test
    void mismatchedShapesAreRejected() {
        var e = assertThrows(IllegalArgumentException.class,
                () -> PpoLoss.compute(vec(0, 0), vec(0, 0, 0), vec(1, 1), 0.2f));
        assertTrue(e.getMessage().contains("[2]") && e.getMessage().contains("[3]"), e.getMessage());
        assertThrows(IllegalArgumentException.class, () -> PpoLoss.compute(vec(0), vec(0), vec(1), -0.1f));
    }
}
