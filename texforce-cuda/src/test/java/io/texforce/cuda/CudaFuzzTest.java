package io.texforce.cuda;

import static org.junit.jupiter.api.Assertions.assertTrue;

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
}
