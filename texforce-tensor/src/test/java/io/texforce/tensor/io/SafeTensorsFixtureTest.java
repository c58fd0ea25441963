package io.texforce.tensor.io;

import io.texforce.tensor.TestData;
import org.junit.jupiter.api.Test;

import java.nio.ByteBuffer;
import java.nio.ByteOrder;
import java.util.Arrays;
import java.util.Map;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

/** Reads the files written by the Python reference implementations. Expected numbers come from numpy. */
class SafeTensorsFixtureTest {
    @Test
    void unetWeightsAreFloat16() {
        try (SafeTensors st = SafeTensors.open(TestData.tinySd1().resolve("unet/diffusion_pytorch_model.safetensors"))) {
            assertEquals(304, st.keys().size());
            assertEquals(Map.of("format", "pt"), st.metadata());
            assertTrue(st.keys().stream().allMatch(k -> st.info(k).dtype() == DType.F16));

            TensorInfo conv = st.info("conv_in.weight");
            assertArrayEquals(new int[] {32, 4, 3, 3}, conv.shape());
            assertEquals(64, conv.begin());
            assertEquals(2368, conv.end());
            float[] w = st.floats("conv_in.weight");
            assertArrayEquals(new float[] {0.09906005859375f, 0.10589599609375f, 0.008544921875f, 0.10186767578125f},
                    Arrays.copyOf(w, 4));
            double sum = 0;
            for (float v : w) {
                sum += v;
            }
            assertEquals(0.3007950186729431, sum, 1e-9);

            // The decoded values are exactly the raw half-precision bits widened.
            ByteBuffer raw = ByteBuffer.wrap(st.bytes("conv_in.weight")).order(ByteOrder.LITTLE_ENDIAN);
            for (int i = 0; i < w.length; i++) {
                assertEquals(Float.float16ToFloat(raw.getShort(2 * i)), w[i]);
            }
            assertArrayEquals(new int[] {32, 4, 3, 3}, st.tensor("conv_in.weight").shape());
        }
    }

    @Test
    void goldenTokenIdsAreInt32() {
        try (SafeTensors st = SafeTensors.open(TestData.tinySd1().resolve("golden/golden.safetensors"))) {
            TensorInfo info = st.info("tokens.input_ids");
            assertEquals(DType.I32, info.dtype());
            assertArrayEquals(new int[] {11, 77}, info.shape());
            int[] ids = st.ints("tokens.input_ids");
            assertArrayEquals(new int[] {49406, 320, 1125, 539, 320, 2368, 49407, 49407}, Arrays.copyOf(ids, 8));
            assertEquals(35508856L, Arrays.stream(ids).asLongStream().sum());
            assertTrue(st.metadata().isEmpty());
            int[][] rows = st.intRows("tokens.input_ids");
            assertEquals(11, rows.length);
            for (int r = 0; r < 11; r++) {
                assertArrayEquals(Arrays.copyOfRange(ids, r * 77, (r + 1) * 77), rows[r], "row " + r);
            }
            var e = assertThrows(SafeTensorsException.class, () -> st.intRows("scheduler.timesteps_50"));
            assertTrue(e.getMessage().contains("'scheduler.timesteps_50' has shape [50]"), e.getMessage());
        }
    }

    @Test
    void clipGoldenImagesAreUnsignedBytes() {
        try (SafeTensors st = SafeTensors.open(TestData.tinyClip().resolve("golden/golden.safetensors"))) {
            TensorInfo info = st.info("images.raw_0");
            assertEquals(DType.U8, info.dtype());
            assertArrayEquals(new int[] {40, 48, 3}, info.shape());
            assertEquals(5760, st.bytes("images.raw_0").length);
            int[] pixels = st.ints("images.raw_0");
            assertArrayEquals(new int[] {134, 118, 157, 160, 142, 116}, Arrays.copyOf(pixels, 6));
            assertEquals(747782L, Arrays.stream(pixels).asLongStream().sum());
            float[] asFloats = st.floats("images.raw_0");
            assertEquals(157f, asFloats[2]);
            assertEquals(255f, max(asFloats));
        }
    }

    private static float max(float[] a) {
        float m = Float.NEGATIVE_INFINITY;
        for (float v : a) {
            m = Math.max(m, v);
        }
        return m;
    }
}
