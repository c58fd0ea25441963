package io.texforce.rewards.clip;

import io.texforce.tensor.Tensor;
import org.junit.jupiter.api.Test;

import java.util.List;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

class ClipImageProcessorTest {
    private static final ClipImageProcessor HF = ClipImageProcessor.load(TinyClipGolden.dir()
            .resolve("hf/preprocessor_config.json"));

    /** Max |difference| in 8-bit steps: normalised differences times std*255, per channel. */
    private static double maxSteps(Tensor expected, Tensor actual, float[] std) {
        assertArrayEquals(expected.shape(), actual.shape());
        float[] e = expected.toFloatArray(), a = actual.toFloatArray();
        int plane = expected.size(2) * expected.size(3);
        double max = 0;
        for (int i = 0; i < e.length; i++) {
            int c = (i / plane) % 3;
            max = Math.max(max, Math.abs(e[i] - a[i]) * std[c] * 255);
        }
        return max;
    }

    @Test
    void configIsReadFromPreprocessorConfig() {
        assertEquals(ClipImageProcessor.Resize.SHORTEST_EDGE, HF.resize());
        assertEquals(32, HF.size());
        assertEquals(32, HF.cropHeight());
        assertArrayEquals(ClipImageProcessor.CLIP_STD, HF.std(), 1e-7f);
        assertEquals(1 / 255f, HF.rescale(), 1e-9f);
    }

    @Test
    void reproducesGoldenPixelValuesFromRawImages() {
        Tensor got = HF.preprocess(List.of(TinyClipGolden.image("raw_0"), TinyClipGolden.image("raw_1")));
        double steps = maxSteps(TinyClipGolden.tensor("pixel_values"), got, HF.std());
        System.out.printf("pixel_values (40x48 and 64x32 raw) max error %.4f of 1/255%n", steps);
        assertTrue(steps <= 2, "pixel values differ by " + steps + "/255");
    }

    @Test
    void squareImageGivesTheSameValuesUnderBothResizeRules() {
        Tensor expected = TinyClipGolden.tensor("square.pixel_values");
        Rgb8Image square = TinyClipGolden.image("raw_square");
        double crop = maxSteps(expected, HF.preprocess(List.of(square)), HF.std());
        double pad = maxSteps(expected, ClipImageProcessor.longestEdgePadded(32).preprocess(List.of(square)), HF.std());
        System.out.printf("square.pixel_values max error %.4f (crop) %.4f (pad) of 1/255%n", crop, pad);
        assertTrue(crop <= 2 && pad <= 2, crop + " " + pad);
    }

    @Test
    void floatImagesAreQuantisedLikeTheirBytes() {
        Rgb8Image raw = TinyClipGolden.image("raw_0");
        float[] d = new float[3 * raw.height() * raw.width()];
        for (int c = 0; c < 3; c++) {
            for (int y = 0; y < raw.height(); y++) {
                for (int x = 0; x < raw.width(); x++) {
                    d[(c * raw.height() + y) * raw.width() + x] = raw.get(y, x, c) / 255f;
                }
            }
        }
        Tensor fromFloats = HF.preprocess(Tensor.of(d, 1, 3, raw.height(), raw.width()));
        Tensor fromBytes = HF.preprocess(List.of(raw));
        assertArrayEquals(fromBytes.toFloatArray(), fromFloats.toFloatArray(), 0f);
    }

    @Test
    void longestEdgePaddingCentresWithTheOddPixelAfter() {
        // A 2x5 white image padded to 5x5: rows 1-2 hold the image (pad 3 rows: 1 before, 2 after).
        byte[] px = new byte[2 * 5 * 3];
        java.util.Arrays.fill(px, (byte) 255);
        ClipImageProcessor p = new ClipImageProcessor(ClipImageProcessor.Resize.LONGEST_EDGE, 5, 5, 5, 1f / 255,
                new float[]{0, 0, 0}, new float[]{1, 1, 1});
        Rgb8Image out = p.resizeAndCrop(new Rgb8Image(2, 5, px));
        int[] rows = new int[5];
        for (int y = 0; y < 5; y++) {
            rows[y] = out.get(y, 2, 0);
        }
        assertArrayEquals(new int[]{0, 255, 255, 0, 0}, rows);
    }

    @Test
    void pilResizeKeepsFlatImagesFlatAndIsIdentityAtTheSameSize() {
        byte[] px = new byte[7 * 9 * 3];
        java.util.Arrays.fill(px, (byte) 200);
        Rgb8Image flat = new Rgb8Image(7, 9, px);
        Rgb8Image down = PilResize.bicubic(flat, 4, 3);
        Rgb8Image up = PilResize.bicubic(flat, 20, 15);
        for (Rgb8Image r : List.of(down, up)) {
            for (byte b : r.pixels()) {
                assertEquals(200, b & 0xFF);
            }
        }
        Rgb8Image raw = TinyClipGolden.image("raw_1");
        assertArrayEquals(raw.pixels(), PilResize.bicubic(raw, raw.width(), raw.height()).pixels());
    }

    @Test
    void tensorResizeMatchesHandComputedTaps() {
        // Upsampling 2 -> 4 samples without antialiasing (torch, a = -0.75): output 1 sits at source 0.25.
        Tensor x = Tensor.of(new float[]{0, 1}, 1, 1, 1, 2);
        float[] y = TensorResize.bicubic(x, 1, 4, false).toFloatArray();
        double t = 0.25, a = -0.75;
        double w2 = ((a + 2) * (1 - t) - (a + 3)) * (1 - t) * (1 - t) + 1;
        double w3 = ((((2 - t) - 5) * (2 - t) + 8) * (2 - t) - 4) * a;
        assertEquals(w2 + w3, y[1], 1e-6);
        assertEquals(1 - y[1], y[2], 1e-6, "symmetry");
        // Flat images stay flat under both kernels, and 224x224 is the output size.
        Tensor flat = Tensor.full(0.3f, 2, 3, 40, 50);
        for (Tensor r : List.of(TensorResize.to224(flat), TensorResize.bicubic(flat, 224, 224, false))) {
            assertArrayEquals(new int[]{2, 3, 224, 224}, r.shape());
            for (float v : r.toFloatArray()) {
                assertEquals(0.3f, v, 1e-5f);
            }
        }
    }

    @Test
    void antialiasedTensorResizeTracksPilWithinRounding() {
        Rgb8Image raw = TinyClipGolden.image("raw_0");
        float[] d = new float[3 * raw.height() * raw.width()];
        for (int c = 0; c < 3; c++) {
            for (int i = 0; i < raw.height() * raw.width(); i++) {
                d[c * raw.height() * raw.width() + i] = raw.pixels()[i * 3 + c] & 0xFF;
            }
        }
        float[] got = TensorResize.bicubic(Tensor.of(d, 1, 3, raw.height(), raw.width()), 21, 17, true).toFloatArray();
        Rgb8Image pil = PilResize.bicubic(raw, 17, 21);
        double max = 0;
        for (int c = 0; c < 3; c++) {
            for (int i = 0; i < 21 * 17; i++) {
                max = Math.max(max, Math.abs(got[c * 21 * 17 + i] - (pil.pixels()[i * 3 + c] & 0xFF)));
            }
        }
        System.out.printf("antialiased tensor resize vs PIL max difference %.3f of 255%n", max);
        assertTrue(max <= 2, "tensor resize differs from PIL by " + max);
    }
}
