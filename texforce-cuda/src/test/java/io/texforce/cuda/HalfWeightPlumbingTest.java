package io.texforce.cuda;

import static io.texforce.tensor.WeightDtype.BF16;
import static io.texforce.tensor.WeightDtype.FP16;
import static io.texforce.tensor.WeightDtype.FP32;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import io.texforce.tensor.Tensor;
import org.junit.jupiter.api.Test;

import java.lang.foreign.Arena;

/** The GPU-free parts of CudaBackend's 16-bit weight path: operand formats, kernel names and argument checks. */
class HalfWeightPlumbingTest {
    @Test
    void aGemmRunsInTheFormatOfItsSixteenBitOperand() {
        assertEquals(FP32, CudaBackend.gemmInputs(FP32, FP32));
        assertEquals(BF16, CudaBackend.gemmInputs(FP32, BF16));
        assertEquals(BF16, CudaBackend.gemmInputs(BF16, FP32));
        assertEquals(FP16, CudaBackend.gemmInputs(FP16, FP32));
        assertEquals(FP16, CudaBackend.gemmInputs(FP16, FP16));
        // Neither 16-bit format holds the other's values: both widen.
        assertEquals(FP32, CudaBackend.gemmInputs(BF16, FP16));
    }

    @Test
    void sixteenBitActivationsRoundFloat32OperandsToTheirFormat() {
        assertEquals(BF16, CudaBackend.gemmInputs(FP32, FP32, BF16));
        assertEquals(FP16, CudaBackend.gemmInputs(FP16, FP32, FP16));
        assertEquals(BF16, CudaBackend.gemmInputs(BF16, BF16, BF16));
        assertEquals(FP32, CudaBackend.gemmInputs(FP32, FP32, FP32));
        // An fp16 weight with bf16 activations: no 16-bit format holds both, the product runs in float32.
        assertEquals(FP32, CudaBackend.gemmInputs(FP16, FP32, BF16));
        assertEquals(FP32, CudaBackend.gemmInputs(FP16, BF16, BF16));
        assertEquals(BF16, CudaBackend.common(BF16, BF16));
        assertEquals(FP32, CudaBackend.common(BF16, FP32));
        assertEquals(FP32, CudaBackend.common(BF16, FP16));
    }

    @Test
    void kernelNamesCarryTheFormat() {
        assertEquals("add_in_place_bf16", CudaBackend.halfKernel("add_in_place", BF16));
        assertEquals("embedding_gather_fp16", CudaBackend.halfKernel("embedding_gather", FP16));
        var e = assertThrows(IllegalArgumentException.class, () -> CudaBackend.halfKernel("add_in_place", FP32));
        assertTrue(e.getMessage().contains("add_in_place") && e.getMessage().contains("fp32"), e.getMessage());
    }

    @Test
    void aSixteenBitTensorNeverReachesAFloat32KernelArgument() {
        Tensor half = Tensor.of(new float[]{1, 2, 3, 4, 5, 6}, 2, 3).to(BF16);
        try (Arena a = Arena.ofConfined()) {
            var e = assertThrows(IllegalArgumentException.class,
                    () -> KernelModule.slot(a, half, "softmax_forward", 0));
            assertEquals("argument 0 of kernel softmax_forward is a bf16 tensor of shape [2, 3]; float32 kernels take"
                    + " 16-bit weights only widened (CudaBackend.dense)", e.getMessage());
        }
        var e = assertThrows(IllegalArgumentException.class,
                () -> new KernelModule.HalfArg(Tensor.of(new float[]{1, 2}, 2)));
        assertTrue(e.getMessage().contains("fp32 tensor of shape [2]"), e.getMessage());
    }
}
