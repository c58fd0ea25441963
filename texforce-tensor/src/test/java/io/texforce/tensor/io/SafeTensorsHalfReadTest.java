package io.texforce.tensor.io;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;

import io.texforce.tensor.BFloat16;
import io.texforce.tensor.TestData;
import io.texforce.tensor.Tensor;
import io.texforce.tensor.WeightDtype;
import io.texforce.tensor.cpu.HalfStorage;
import java.nio.ByteBuffer;
import java.nio.ByteOrder;
import org.junit.jupiter.api.Test;

/** Reading checkpoint tensors straight into 16-bit storage. */
class SafeTensorsHalfReadTest {
    @Test
    void aFloat16TensorReadAsFp16KeepsTheFileBitsAndAsBf16IsRoundedFromThem() {
        try (SafeTensors st = SafeTensors.open(TestData.tinySd1().resolve("unet/diffusion_pytorch_model.safetensors"))) {
            String key = "conv_in.weight";
            ByteBuffer raw = ByteBuffer.wrap(st.bytes(key)).order(ByteOrder.LITTLE_ENDIAN);
            Tensor fp16 = st.tensor(key, WeightDtype.FP16);
            assertEquals(WeightDtype.FP16, fp16.dtype());
            assertArrayEquals(st.info(key).shape(), fp16.shape());
            short[] bits = ((HalfStorage) fp16.storage()).bits();
            for (int i = 0; i < bits.length; i++) {
                assertEquals(raw.getShort(2 * i), bits[i], "element " + i);
            }
            float[] f32 = st.floats(key);
            short[] bf16 = st.halves(key, WeightDtype.BF16);
            for (int i = 0; i < bf16.length; i++) {
                assertEquals(BFloat16.fromFloat(f32[i]), bf16[i], "element " + i);
            }
        }
    }

    @Test
    void aFloat32TensorIsRoundedElementByElement() {
        try (SafeTensors st = SafeTensors.open(TestData.tinySd1().resolve("text_encoder/model.safetensors"))) {
            String key = "text_model.encoder.layers.0.self_attn.q_proj.weight";
            assertEquals(DType.F32, st.info(key).dtype());
            float[] f32 = st.floats(key);
            for (WeightDtype dtype : new WeightDtype[]{WeightDtype.BF16, WeightDtype.FP16}) {
                float[] read = st.tensor(key, dtype).toFloatArray();
                for (int i = 0; i < f32.length; i++) {
                    assertEquals(dtype.round(f32[i]), read[i], 0f, dtype + " element " + i);
                }
            }
        }
    }
}
