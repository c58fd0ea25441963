package io.texforce.cuda;

import static org.junit.jupiter.api.Assertions.assertTrue;
import static org.junit.jupiter.api.Assumptions.assumeTrue;

import io.texforce.tensor.cpu.CpuBackend;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.DynamicTest;
import org.junit.jupiter.api.TestFactory;

import java.util.Optional;
import java.util.stream.Stream;

/** Every CUDA kernel against the CPU reference, forward and backward; skipped without a GPU. */
class CudaParityTest {
    @BeforeAll
    static void requireGpu() {
        Optional<String> reason = CudaBackend.unavailableReason();
        assumeTrue(reason.isEmpty(), () -> "GPU parity tests skipped: " + reason.orElse(""));
    }

    @TestFactory
    Stream<DynamicTest> kernelsMatchTheCpuBackend() {
        CudaBackend gpu = CudaBackend.get();
        return ParityChecks.all().stream().map(check -> DynamicTest.dynamicTest(check.name(), () -> {
            ParityCheck.Result r = check.run(CpuBackend.INSTANCE, gpu);
            System.out.printf("%-48s max error %.3e (tolerance %.1e)%n", r.name(), r.maxError(), r.tolerance());
            assertTrue(r.passed(), () -> r.name() + ": max error " + r.maxError() + " exceeds " + r.tolerance());
        }));
    }
}
