package io.texforce.rewards;

import io.texforce.tensor.Tensor;
import io.texforce.tensor.random.Generator;
import org.junit.jupiter.api.Test;

import java.util.List;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

class JpegSizeTest {
    @Test
    void flatImagesCompressBetterThanNoise() {
        Tensor flat = Tensor.full(0.5f, 1, 3, 64, 64);
        Tensor noise = new Generator(3).rand(1, 3, 64, 64);
        Tensor both = Tensor.concat(List.of(flat, noise), 0);
        float[] c = JpegSize.compressibility().score(both, List.of("a", "b"));
        float[] i = JpegSize.incompressibility().score(both, List.of("a", "b"));
        assertTrue(c[0] > c[1], "flat image scores higher on compressibility: " + c[0] + " vs " + c[1]);
        assertEquals(-c[0], i[0], 0f);
        assertTrue(i[1] > 5f, "64x64 noise at quality 95 is several kB, got " + i[1]);
        assertTrue(i[0] < 2f, "a flat 64x64 image is about 1 kB, got " + i[0]);
    }
}
