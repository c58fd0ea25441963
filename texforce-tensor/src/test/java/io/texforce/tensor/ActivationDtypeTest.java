package io.texforce.tensor;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;

import io.texforce.tensor.cpu.CpuBackend;
import org.junit.jupiter.api.Test;

/** The CPU keeps activations in float32: it accepts FP32 and refuses a 16-bit format, naming both. */
class ActivationDtypeTest {
    @Test
    void theCpuRefusesSixteenBitActivationsAndKeepsFloat32() {
        Backend cpu = CpuBackend.INSTANCE;
        try (var fp32 = cpu.activations(WeightDtype.FP32)) {
            assertEquals(WeightDtype.FP32, cpu.activationDtype());
        }
        var e = assertThrows(UnsupportedOperationException.class, () -> cpu.activations(WeightDtype.FP16));
        assertEquals("the cpu backend keeps activations in fp32 only, not fp16", e.getMessage());
        assertEquals(WeightDtype.FP32, cpu.activationDtype());
    }
}
