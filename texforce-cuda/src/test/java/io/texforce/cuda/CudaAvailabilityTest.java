package io.texforce.cuda;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import org.junit.jupiter.api.Test;

import java.nio.file.Files;
import java.nio.file.Path;
import java.util.Optional;
import java.util.stream.Stream;

/** The factory either yields a working backend or explains, without crashing, why there is none. */
class CudaAvailabilityTest {
    private static boolean driverInstalled() {
        return Stream.of("/usr/lib/x86_64-linux-gnu/libcuda.so.1", "/usr/lib64/libcuda.so.1", "/usr/lib/libcuda.so.1")
                .anyMatch(p -> Files.exists(Path.of(p)));
    }

    @Test
    void factoryReportsAClearErrorOrAWorkingBackend() {
        Optional<String> reason = CudaBackend.unavailableReason();
        if (reason.isPresent()) {
            CudaUnavailableException e = assertThrows(CudaUnavailableException.class, CudaBackend::get);
            assertEquals(reason.get(), e.getMessage());
            System.out.println("CUDA unavailable: " + e.getMessage());
            if (!driverInstalled()) {
                assertTrue(e.getMessage().startsWith("no CUDA driver/GPU found"), e.getMessage());
            }
        } else {
            CudaBackend gpu = CudaBackend.get();
            assertEquals("cuda:0", gpu.name());
            float[] back = gpu.toHost(io.texforce.tensor.Tensor.of(gpu, new float[]{1, -2, 3.5f}, 3));
            assertEquals(-2f, back[1]);
        }
    }
}
