package io.texforce.tensor.random;

import io.texforce.tensor.Tensor;
import io.texforce.tensor.cpu.CpuStorage;
import org.junit.jupiter.api.Test;

import java.util.Arrays;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;

class GeneratorTest {
    @Test
    void drawsAdvanceTheOffsetAndResumeFromACheckpoint() {
        var g = new Generator(42);
        float[] first = values(g.randn(2, 3));
        assertEquals(6, g.offset());
        float[] second = values(g.rand(5));
        assertEquals(11, g.offset());
        float[] third = values(g.randn(4, 1, 3));
        assertEquals(23, g.offset());

        var resumed = new Generator(g.seed());
        resumed.setOffset(11);
        assertArrayEquals(third, values(resumed.randn(4, 1, 3)));

        float[] expectedFirst = new float[6];
        Philox.normal(42, 0, expectedFirst, 0, 6);
        assertArrayEquals(expectedFirst, first);
        float[] expectedSecond = new float[5];
        Philox.uniform(42, 6, expectedSecond, 0, 5);
        assertArrayEquals(expectedSecond, second);
    }

    @Test
    void tensorsHaveTheRequestedShape() {
        var g = new Generator(1);
        Tensor t = g.randn(2, 0, 3);
        assertArrayEquals(new int[] {2, 0, 3}, t.shape());
        assertEquals(0, g.offset());
        Tensor scalar = g.rand();
        assertArrayEquals(new int[0], scalar.shape());
        assertEquals(1, g.offset());
    }

    @Test
    void rejectsNegativeOffset() {
        assertThrows(IllegalArgumentException.class, () -> new Generator(0).setOffset(-1));
    }

    /** The CPU backend's toHost is not needed to look at a freshly created contiguous tensor. */
    private static float[] values(Tensor t) {
        float[] data = ((CpuStorage) t.storage()).data();
        return Arrays.copyOfRange(data, t.offset(), t.offset() + t.numel());
    }
}
