package io.texforce.cuda;

import static org.junit.jupiter.api.Assertions.assertTrue;

import io.texforce.tensor.cpu.CpuBackend;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.DynamicTest;
import org.junit.jupiter.api.TestFactory;

import java.util.stream.Stream;

/**
 * Every parity check of the CUDA backend run on the CUDA host emulator (native/emu): the backend's Java code, the
 * kernels of native/ compiled for the host and reference GEMMs in place of cuBLAS, against the CPU backend. Each
 * check runs twice, with each block's threads scheduled first to last and last to first between barriers, so a
 * missing barrier shows up as a wrong result in one of the two. Skipped where the emulator could not be built
 * (no g++ or no CUDA headers).
 */
class CudaEmulatorParityTest {
    private static CudaBackend emulator;

    @BeforeAll
    static void loadEmulator() {
        emulator = TestEmulator.backendOrSkip();
    }

    @AfterAll
    static void restoreOrder() {
        if (emulator != null) emulator.configureEmulator(false, 0);
    }

    @TestFactory
    Stream<DynamicTest> kernelsMatchTheCpuBackendInForwardOrder() {
        return checks(false);
    }

    @TestFactory
    Stream<DynamicTest> kernelsMatchTheCpuBackendInReverseOrder() {
        return checks(true);
    }

    private static Stream<DynamicTest> checks(boolean reverse) {
        String order = reverse ? "reverse" : "forward";
        return ParityChecks.all().stream().map(check -> DynamicTest.dynamicTest(check.name() + " (" + order + ")",
                () -> {
                    emulator.configureEmulator(reverse, 0);
                    ParityCheck.Result r = check.run(CpuBackend.INSTANCE, emulator);
                    System.out.printf("emulator %-7s %-48s max error %.3e (tolerance %.1e)%n", order, r.name(),
                            r.maxError(), r.tolerance());
                    assertTrue(r.passed(), () -> r.name() + " (" + order + "): max error " + r.maxError()
                            + " exceeds " + r.tolerance());
                }));
    }
}
