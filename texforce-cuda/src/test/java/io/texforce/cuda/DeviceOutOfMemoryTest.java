package io.texforce.cuda;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import io.texforce.tensor.DeviceOutOfMemoryException;
import org.junit.jupiter.api.Test;

import java.util.ArrayList;
import java.util.List;

/**
 * Running out of device memory is a clear, typed error that names the device and what helps, and the allocator
 * stays usable afterwards. On the CUDA host emulator (16 GiB, and large buffers cost nothing until written).
 */
class DeviceOutOfMemoryTest {
    @Test
    void exhaustingTheDeviceGivesATypedErrorAndTheAllocatorRecovers() {
        DeviceAllocator allocator = emptyAllocator();
        long gib = 1L << 30;
        List<Long> held = new ArrayList<>();
        try {
            held.add(allocator.allocate(6 * gib, p -> p));
            held.add(allocator.allocate(6 * gib, p -> p));
            DeviceOutOfMemoryException e = assertThrows(DeviceOutOfMemoryException.class,
                    () -> held.add(allocator.allocate(6 * gib, p -> p)));
            System.out.println(e.getMessage());
            assertEquals("cuda-emu", e.device());
            assertTrue(e.getMessage().startsWith("out of memory on cuda-emu: a tensor of 6144.0 MiB did not fit"),
                    e.getMessage());
            assertTrue(e.getMessage().contains("--gradient-checkpointing"), e.getMessage());
        } finally {
            held.clear();
        }
        // The two blocks' owners (the Longs) are unreachable now: a new request finds room once they are reclaimed.
        Long p = allocator.allocate(6 * gib, q -> q);
        assertTrue(p != 0);
        p = null;
        System.gc();
        allocator.releaseCached();  // the 12 GiB cached above go back to the emulator for the other tests
    }

    @Test
    void aBlockTheCollectorFreesIsReusedWithoutEmptyingTheCache() {
        DeviceAllocator allocator = emptyAllocator();
        long gib = 1L << 30;
        long[] a = allocator.allocate(6 * gib, p -> new long[]{p});
        long[] b = allocator.allocate(6 * gib, p -> new long[]{p});
        long[] small = allocator.allocate(1 << 20, p -> new long[]{p});
        assertTrue(a[0] != b[0]);
        a = null;
        b = null;
        // The device is full until the collector finds the two blocks above; then one of them serves this request
        // and the other stays cached instead of going back to the driver.
        long[] c = allocator.allocate(6 * gib, p -> new long[]{p});
        assertEquals(6 * gib, allocator.cachedBytes(), "the other freed block is still cached");
        assertTrue(c[0] != 0 && small[0] != 0);
        c = null;
        small = null;
        System.gc();
        allocator.releaseCached();
    }

    @Test
    void manySmallBlocksHitTheEmulatorsAllocationLimitAndTheCacheStaysBounded() throws InterruptedException {
        DeviceAllocator allocator = emptyAllocator();
        // 16384 allocations at most (two memory mappings each): small blocks that stay cached must not pile up
        // until the JVM runs out of mappings. Held blocks beyond the limit are a clear out-of-memory error...
        List<long[]> held = new ArrayList<>();
        DeviceOutOfMemoryException e = assertThrows(DeviceOutOfMemoryException.class, () -> {
            for (int i = 0; i < 20_000; i++) {
                held.add(allocator.allocate(512, p -> new long[]{p}));
            }
        });
        assertTrue(held.size() <= 16384 && held.size() > 15_000, "blocks held: " + held.size());
        assertTrue(e.getMessage().startsWith("out of memory on cuda-emu"), e.getMessage());
        // ...and once they are unreachable, the cache keeps MAX_CACHED_BLOCKS of them and gives the rest back, so
        // blocks of other size classes find room.
        held.clear();
        System.gc();
        for (int i = 0; i < 100 && allocator.cachedBlocks() < DeviceAllocator.MAX_CACHED_BLOCKS; i++) {
            Thread.sleep(10);  // phantom references reach the queue shortly after the collection
        }
        assertEquals(DeviceAllocator.MAX_CACHED_BLOCKS, allocator.cachedBlocks());
        long[] other = allocator.allocate(4096, p -> new long[]{p});
        for (int i = 0; i < 2000; i++) {
            allocator.allocate(8192 + 512 * (i % 4), p -> new long[]{p});
        }
        assertTrue(other[0] != 0);
        System.gc();
        allocator.releaseCached();
    }

    /** The emulator's allocator with nothing cached (blocks of earlier tests collected and given back). */
    @Test
    void thePeakCountsTheMostBytesHeldAtOnceUntilReset() {
        DeviceAllocator allocator = emptyAllocator();
        allocator.resetPeak();
        long base = allocator.liveBytes(), mib = 1L << 20;
        long[] a = allocator.allocate(8 * mib, p -> new long[]{p});
        long[] b = allocator.allocate(4 * mib, p -> new long[]{p});
        assertEquals(base + 12 * mib, allocator.peakLiveBytes());
        b = null;
        System.gc();
        allocator.resetPeak();
        assertEquals(allocator.liveBytes(), allocator.peakLiveBytes(), "reset starts from what is live");
        assertTrue(allocator.peakLiveBytes() >= base + 8 * mib && a[0] != 0);
    }

    private static DeviceAllocator emptyAllocator() {
        DeviceAllocator allocator = TestEmulator.backendOrSkip().allocator();
        System.gc();
        allocator.releaseCached();
        return allocator;
    }
}
