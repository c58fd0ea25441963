package io.texforce.cuda;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import io.texforce.tensor.Tensor;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;

import java.util.Arrays;

/**
 * What the CUDA host emulator claims to catch, shown on deliberately broken kernels (native/emu/test_kernels.cu)
 * and wrong host calls: a missing barrier changes results with the thread order, a barrier that cannot complete
 * fails the launch, a copy past the end of an allocation fails, too much shared memory without the opt-in fails.
 */
class CudaEmulatorSelfTest {
    private static CudaBackend emulator;

    @BeforeAll
    static void loadEmulator() {
        emulator = TestEmulator.backendOrSkip();
    }

    @AfterEach
    void restoreOrder() {
        emulator.configureEmulator(false, 0);
    }

    private float[] runMissingBarrier(boolean reverse) {
        emulator.configureEmulator(reverse, 1);
        Tensor out = emulator.full(new int[]{64}, 0f);
        emulator.kernels().launch("tfemu_test_missing_barrier", 1, 1, 64, 0, out);
        return emulator.toHost(out);
    }

    @Test
    void aMissingBarrierGivesResultsThatDependOnTheThreadOrder() {
        float[] forward = runMissingBarrier(false), reverse = runMissingBarrier(true);
        System.out.println("missing barrier, forward order: " + Arrays.toString(Arrays.copyOf(forward, 4)) + "...");
        System.out.println("missing barrier, reverse order: " + Arrays.toString(Arrays.copyOf(reverse, 4)) + "...");
        assertFalse(Arrays.equals(forward, reverse), "a race must show up as order-dependent results");
        assertEquals(-1f, forward[1], "in forward order thread 1 reads thread 2's slot before it is written");
        assertEquals(2f, reverse[1], "in reverse order thread 2 has written its slot already");
    }

    @Test
    void aBarrierThatCannotCompleteFailsTheLaunchAndNamesTheKernel() {
        Tensor out = emulator.full(new int[]{32}, 0f);
        CudaException e = assertThrows(CudaException.class,
                () -> emulator.kernels().launch("tfemu_test_divergent_barrier", 1, 1, 32, 0, out));
        assertTrue(e.getMessage().contains("tfemu_test_divergent_barrier")
                && e.getMessage().contains("CUDA_ERROR_LAUNCH_FAILED"), e.getMessage());
    }

    @Test
    void aCorrectKernelRunsTheSameInBothOrders() {
        float[] x = {1, -2, 3, 4.5f, -5, 6, 7, 8, 9};
        for (boolean reverse : new boolean[]{false, true}) {
            emulator.configureEmulator(reverse, 1);
            float[] sum = emulator.toHost(emulator.reduce(io.texforce.tensor.ReduceOp.SUM,
                    Tensor.of(emulator, x, 9), new int[]{0}, false));
            assertArrayEquals(new float[]{31.5f}, sum);
        }
    }

    @Test
    void tooMuchSharedMemoryWithoutTheOptInFails() {
        Driver driver = TestEmulator.rawDriver();
        var module = driver.loadModule(java.lang.foreign.Arena.global().allocate(1), "test");
        var fn = driver.function(module, "fill");
        CudaException e = assertThrows(CudaException.class, () -> driver.launch(fn, 1, 1, 1, 32, 64 * 1024,
                java.lang.foreign.MemorySegment.NULL, "fill"));
        assertTrue(e.getMessage().contains("CUDA_ERROR_INVALID_VALUE"), e.getMessage());
    }

    @Test
    void aCopyPastTheEndOfAnAllocationFails() {
        Driver driver = TestEmulator.rawDriver();
        long[] p = new long[1];
        assertEquals(0, driver.tryAlloc(100, p));
        try (var arena = java.lang.foreign.Arena.ofConfined()) {
            var host = arena.allocate(200);
            driver.copyToHost(host, p[0], 100);
            CudaException e = assertThrows(CudaException.class, () -> driver.copyToHost(host, p[0] + 4, 100));
            assertTrue(e.getMessage().contains("cuMemcpyDtoH"), e.getMessage());
        } finally {
            driver.free(p[0]);
        }
    }
}
