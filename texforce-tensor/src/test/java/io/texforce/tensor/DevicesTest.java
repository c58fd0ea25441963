package io.texforce.tensor;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertSame;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import io.texforce.tensor.cpu.CpuBackend;
import io.texforce.tensor.foreign.ForeignBackend;
import org.junit.jupiter.api.Test;

class DevicesTest {
    @Test
    void cpuIsAlwaysThere() {
        assertSame(CpuBackend.INSTANCE, Devices.resolve("cpu"));
        assertSame(CpuBackend.INSTANCE, Devices.resolve(" CPU:0 "));
    }

    @Test
    void providersOnTheClassPathAreFound() {
        assertSame(ForeignBackend.INSTANCE, Devices.resolve("foreign"));
        assertSame(ForeignBackend.INSTANCE, Devices.resolve("foreign:0"));
        assertTrue(Devices.kinds().contains("foreign"), Devices.kinds().toString());
    }

    @Test
    void cudaWithoutTheModuleSaysWhatIsMissing() {
        DeviceUnavailableException e = assertThrows(DeviceUnavailableException.class, () -> Devices.resolve("cuda:1"));
        assertEquals("cuda:1", e.spec());
        assertTrue(e.getMessage().startsWith("device 'cuda:1' is not available: unknown device kind 'cuda'"
                + " (texforce-cuda is not on the class path); known: cpu, foreign"), e.getMessage());
    }

    @Test
    void malformedAndUnknownSpecsNameTheSpec() {
        assertEquals("device 'tpu' is not available: unknown device kind 'tpu'; known: cpu, foreign",
                assertThrows(DeviceUnavailableException.class, () -> Devices.resolve("tpu")).getMessage());
        assertEquals("device 'cuda:x' is not available: 'x' is not a device number (expected <kind>:N with N >= 0,"
                        + " e.g. cuda:0)",
                assertThrows(DeviceUnavailableException.class, () -> Devices.resolve("cuda:x")).getMessage());
        assertEquals("device 'cpu:1' is not available: there is one CPU device, cpu:0",
                assertThrows(DeviceUnavailableException.class, () -> Devices.resolve("cpu:1")).getMessage());
        assertTrue(assertThrows(DeviceUnavailableException.class, () -> Devices.resolve(""))
                .getMessage().contains("empty device name"));
    }

    @Test
    void aProviderThatCannotOpenTheDeviceGivesItsReason() {
        DeviceUnavailableException e = assertThrows(DeviceUnavailableException.class,
                () -> Devices.resolve("foreign:3"));
        assertEquals("device 'foreign:3' is not available: the foreign test backend has only device 0", e.getMessage());
    }
}
