package io.texforce.cuda;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;

import org.junit.jupiter.api.Test;

import java.lang.foreign.Arena;
import java.lang.foreign.MemorySegment;
import java.lang.foreign.ValueLayout;

class IndexerTest {
    @Test
    void mergesDimsEveryOperandWalksAsOne() {
        // [B, C, H, W] + [B, C, 1, 1] broadcast: H and W merge into one row, B and C into another.
        Indexer ix = Indexer.of(new int[]{2, 3, 4, 5}, new int[]{60, 20, 5, 1}, new int[]{3, 1, 0, 0});
        assertArrayEquals(new int[]{6, 20}, ix.shape());
        assertArrayEquals(new int[]{20, 1}, ix.strides()[0]);
        assertArrayEquals(new int[]{1, 0}, ix.strides()[1]);
    }

    @Test
    void dropsSizeOneDimsAndKeepsTransposes() {
        Indexer ix = Indexer.of(new int[]{1, 4, 6}, new int[]{24, 1, 4}, new int[]{24, 6, 1});
        assertArrayEquals(new int[]{4, 6}, ix.shape());
        assertArrayEquals(new int[]{1, 4}, ix.strides()[0]);
    }

    @Test
    void writesTheStructLayoutOfCommonCuh() {
        Indexer ix = Indexer.of(new int[]{3, 7}, new int[]{1, 3}, new int[]{7, 1});
        try (Arena a = Arena.ofConfined()) {
            MemorySegment s = a.allocate(Indexer.BYTES);
            ix.writeTo(s);
            assertEquals(164, Indexer.BYTES);
            assertEquals(2, s.get(ValueLayout.JAVA_INT, 0));
            assertEquals(3, s.get(ValueLayout.JAVA_INT, 4));
            assertEquals(7, s.get(ValueLayout.JAVA_INT, 8));
            assertEquals(3, s.get(ValueLayout.JAVA_INT, 4 * (1 + 8 + 1)));      // stride[0][1]
            assertEquals(7, s.get(ValueLayout.JAVA_INT, 4 * (1 + 8 + 8)));      // stride[1][0]
        }
    }

    @Test
    void rejectsLoopsOfRankAboveEight() {
        int[] shape = {2, 2, 2, 2, 2, 2, 2, 2, 2};
        int[] transposedEverywhere = {1, 2, 4, 8, 16, 32, 64, 128, 256};
        assertThrows(IllegalArgumentException.class, () -> Indexer.of(shape, transposedEverywhere));
    }

    @Test
    void sizeClassesWasteAtMostAQuarter() {
        assertEquals(512, DeviceAllocator.sizeClass(1));
        assertEquals(512, DeviceAllocator.sizeClass(512));
        for (long bytes : new long[]{513, 1000, 4097, 1 << 20, (1 << 20) + 1, 123_456_789}) {
            long c = DeviceAllocator.sizeClass(bytes);
            assertEquals(true, c >= bytes && c <= bytes * 1.25 + 1, bytes + " -> " + c);
        }
    }
}
