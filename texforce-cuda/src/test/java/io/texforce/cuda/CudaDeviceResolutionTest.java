package io.texforce.cuda;

import io.texforce.tensor.DeviceUnavailableException;
import io.texforce.tensor.Devices;
import org.junit.jupiter.api.Test;

import java.util.Optional;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertSame;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

/** With texforce-cuda on the class path, "cuda" resolves to the GPU or fails with the driver's reason. */
class CudaDeviceResolutionTest {
    @Test
    void cudaIsAKnownKind() {
        assertTrue(Devices.kinds().contains("cuda"), Devices.kinds().toString());
    }

    @Test
    void cudaResolvesOrSaysWhyNot() {
        Optional<String> reason = CudaBackend.unavailableReason();
        if (reason.isPresent()) {
            DeviceUnavailableException e = assertThrows(DeviceUnavailableException.class, () -> Devices.resolve("cuda"));
            assertEquals("device 'cuda' is not available: " + reason.get(), e.getMessage());
            assertTrue(e.getCause() instanceof CudaUnavailableException, String.valueOf(e.getCause()));
            System.out.println(e.getMessage());
        } else {
            assertSame(CudaBackend.get(), Devices.resolve("cuda"));
            assertSame(CudaBackend.get(), Devices.resolve("cuda:0"));
            assertEquals("cuda:0", Devices.resolve("cuda").name());
            DeviceUnavailableException e = assertThrows(DeviceUnavailableException.class,
                    () -> Devices.resolve("cuda:99"));
            assertTrue(e.getMessage().startsWith("device 'cuda:99' is not available: no CUDA device 99: the driver"
                    + " reports"), e.getMessage());
        }
    }
}
