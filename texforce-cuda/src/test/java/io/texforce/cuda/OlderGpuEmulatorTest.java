package io.texforce.cuda;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import io.texforce.tensor.cpu.CpuBackend;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.DynamicTest;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.TestFactory;

import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.StandardCopyOption;
import java.util.stream.Stream;

/**
 * The CUDA backend on older GPU generations, each emulated by its own copy of the CUDA host emulator configured as
 * that generation. sm_75 (a T4): no bf16 matrix units, 64 KiB of shared memory per block; bf16 attention falls back
 * to the float32 kernel, bf16 GEMMs run as float32 GEMMs of the bf16-rounded operands, fp16 attention still runs on
 * tensor cores where its shared memory fits; every parity check passes. sm_86: see {@link #attentionChecksPassOnSm86}.
 */
class OlderGpuEmulatorTest {
    private static CudaBackend t4, rtx;

    @BeforeAll
    static void loadAsOlderGenerations() throws IOException {
        t4 = emulatedAs(75);
        rtx = emulatedAs(86);
    }

    /** A backend on a private copy of the emulator configured as compute capability {@code cc}. */
    private static CudaBackend emulatedAs(int cc) throws IOException {
        Path lib = TestEmulator.libraryOrSkip();
        // A copy, so that its settings (a global of the library) do not change the other tests' sm_90 device.
        Path copy = Files.createTempFile("texforce-cuda-emu-sm" + cc, ".so");
        copy.toFile().deleteOnExit();
        Files.copy(lib, copy, StandardCopyOption.REPLACE_EXISTING);
        Driver driver = Driver.loadEmulator(copy);
        driver.configureEmulator(false, 0, cc);
        return CudaBackend.on(driver);
    }

    @Test
    void theDeviceReportsSm75() {
        assertTrue(t4.device().endsWith("(sm_75)"), t4.device());
    }

    @TestFactory
    Stream<DynamicTest> everyParityCheckPassesOnSm75() {
        return ParityChecks.all().stream().map(check -> DynamicTest.dynamicTest(check.name(), () -> {
            ParityCheck.Result r = check.run(CpuBackend.INSTANCE, t4);
            System.out.printf("emulated sm_75 %-48s max error %.3e (tolerance %.1e)%n", r.name(), r.maxError(),
                    r.tolerance());
            assertTrue(r.passed(), () -> r.name() + " on sm_75: max error " + r.maxError() + " exceeds "
                    + r.tolerance());
        }));
    }

    /**
     * sm_86/sm_89 (RTX 30xx/40xx, L4): bf16 tensor cores but 99 KiB of shared memory per block, so the widest heads
     * and the backward fall back to the float32 kernels where their tiles do not fit; every attention check passes.
     */
    @TestFactory
    Stream<DynamicTest> attentionChecksPassOnSm86() {
        assertTrue(rtx.device().endsWith("(sm_86)"), rtx.device());
        return ParityChecks.all().stream().filter(c -> c.name().startsWith("attention")).map(check ->
                DynamicTest.dynamicTest(check.name(), () -> {
                    ParityCheck.Result r = check.run(CpuBackend.INSTANCE, rtx);
                    System.out.printf("emulated sm_86 %-48s max error %.3e (tolerance %.1e)%n", r.name(),
                            r.maxError(), r.tolerance());
                    assertTrue(r.passed(), () -> r.name() + " on sm_86: max error " + r.maxError());
                }));
    }

    @Test
    void bf16AttentionNeverLaunchesTheTensorCoreKernelButFp16Does() {
        KernelModule k = t4.kernels();
        long bf16 = k.launches("attention_forward_tc_bf16"), fp16 = k.launches("attention_forward_tc_fp16");
        for (ParityCheck check : ParityChecks.all()) {
            if (check.name().startsWith("attention bf16 self 2x300x40") || check.name().startsWith(
                    "attention fp16 self 2x300x40")) {
                check.run(CpuBackend.INSTANCE, t4);
            }
        }
        assertEquals(bf16, k.launches("attention_forward_tc_bf16"), "no bf16 WMMA before sm_80");
        assertTrue(k.launches("attention_forward_tc_fp16") > fp16, "fp16 WMMA runs on sm_75");
    }
}
