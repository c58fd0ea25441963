package io.texforce.cuda;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import io.texforce.tensor.WeightDtype;
import io.texforce.tensor.cpu.CpuBackend;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;

import java.util.List;

/**
 * {@link FuzzChecks} on the CUDA host emulator: 1000 random op cases and 250 random gradient cases against the CPU.
 * Sensitive: treating any view at offset 0 as dense fails it at once.
 */
class CudaFuzzTest {
    private static CudaBackend emulator;

    @BeforeAll
    static void loadEmulator() {
        emulator = TestEmulator.backendOrSkip();
    }

    @Test
    void randomViewsBroadcastsAndTheirGradientsMatchTheCpu() {
        List<ParityCheck> cases = FuzzChecks.cases(GpuSelfTest.FUZZ_SEED, 1000, 250);
        double worst = 0;
        String worstCase = "";
        for (ParityCheck c : cases) {
            ParityCheck.Result r = c.run(CpuBackend.INSTANCE, emulator);
            if (r.maxError() > worst) {
                worst = r.maxError();
                worstCase = r.name();
            }
            assertTrue(r.passed(), () -> r.name() + ": error " + r.maxError());
        }
        System.out.printf("%d random cases on the CUDA emulator, worst error %.3e (%s)%n", cases.size(), worst,
                worstCase);
    }

    @Test
    void randomOpsOnSixteenBitActivationsMatchTheCpuWithinOneUlp() {
        for (WeightDtype d : new WeightDtype[]{WeightDtype.BF16, WeightDtype.FP16}) {
            List<ParityCheck> cases = FuzzChecks.halfCases(GpuSelfTest.FUZZ_SEED, 250, d);
            double worst = 0;
            for (ParityCheck c : cases) {
                ParityCheck.Result r = c.run(CpuBackend.INSTANCE, emulator);
                worst = Math.max(worst, r.maxError());
                assertTrue(r.passed(), () -> r.name() + ": error " + r.maxError() + " > " + r.tolerance());
            }
            assertEquals(WeightDtype.FP32, emulator.activationDtype(), "each case restores the activation format");
            System.out.printf("%d random %s-activation cases on the CUDA emulator, worst error %.3e (one ulp: %.1e)%n",
                    cases.size(), d.cliName(), worst, HalfActivationChecks.ulp(d));
        }
    }
}
