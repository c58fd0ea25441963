package io.texforce.cuda;

import io.texforce.tensor.DeviceOutOfMemoryException;

import java.lang.ref.PhantomReference;
import java.lang.ref.Reference;
import java.lang.ref.ReferenceQueue;
import java.util.ArrayDeque;
import java.util.ArrayList;
import java.util.Comparator;
import java.util.HashMap;
import java.util.HashSet;
import java.util.Locale;
import java.util.List;
import java.util.Map;
import java.util.Set;
import java.util.function.LongFunction;

/**
 * A caching allocator of device memory. cuMemAlloc/cuMemFree synchronise the device and cost tens of
 * microseconds, far more than the kernels of small layers, so blocks are kept in free lists by size class and
 * reused. A block returns to its list when the storage that owns it becomes unreachable (a phantom reference;
 * device memory is invisible to the Java heap's collector). On out-of-memory the allocator collects garbage, reuses
 * a block of the request's size class if that freed one, else returns cached blocks to the driver (largest first)
 * until the request fits, and fails with a {@link DeviceOutOfMemoryException} only when nothing is left to give.
 * The cache holds at most {@link #MAX_CACHED_BLOCKS} blocks.
 */
final class DeviceAllocator {
    /** Sizes are rounded up to this granularity at least, so nearby sizes share blocks. */
    private static final long MIN_BLOCK = 512;
    /**
     * The most blocks the cache holds; a block freed beyond that goes back to the driver. Several times the tensors
     * of one U-Net training step, so a steady run reuses everything, while a long process that meets ever new sizes
     * (a test JVM) does not pile up allocations without end (the CUDA host emulator allows 16384 at once).
     */
    static final int MAX_CACHED_BLOCKS = 8192;

    private final Driver driver;
    private final String deviceName;
    private final Map<Long, ArrayDeque<Long>> free = new HashMap<>();
    private final ReferenceQueue<Object> released = new ReferenceQueue<>();
    private final Set<Block> live = new HashSet<>();
    private long cachedBytes, liveBytes, peakLiveBytes;
    private int cachedBlocks;

    private final class Block extends PhantomReference<Object> {
        final long pointer, bytes;

        Block(Object owner, long pointer, long bytes) {
            super(owner, released);
            this.pointer = pointer;
            this.bytes = bytes;
        }
    }

    DeviceAllocator(Driver driver, String deviceName) {
        this.driver = driver;
        this.deviceName = deviceName;
    }

    /** The size class of a request: the next multiple of a quarter of its power of two (at most 25% waste). */
    static long sizeClass(long bytes) {
        if (bytes <= MIN_BLOCK) {
            return MIN_BLOCK;
        }
        long quarter = Long.highestOneBit(bytes - 1) >> 2;
        return (bytes + quarter - 1) / quarter * quarter;
    }

    /**
     * A device block of at least {@code bytes}, handed to {@code owner} to build the object that owns it; the block
     * returns to the cache once that object is unreachable.
     */
    synchronized <T> T allocate(long bytes, LongFunction<T> owner) {
        if (bytes == 0) {
            return owner.apply(0);
        }
        reclaim();
        long size = sizeClass(bytes);
        long pointer = takeCached(size);
        if (pointer == NONE) {
            pointer = fresh(size);
        }
        T result = owner.apply(pointer);
        live.add(new Block(result, pointer, size));
        liveBytes += size;
        peakLiveBytes = Math.max(peakLiveBytes, liveBytes);
        return result;
    }

    /** No cached block: {@link #takeCached}'s answer (0 is a valid pointer only for empty requests). */
    private static final long NONE = -1;

    /** A cached block of exactly this size class, taken out of the cache, or {@link #NONE}. */
    private long takeCached(long size) {
        ArrayDeque<Long> list = free.get(size);
        if (list == null || list.isEmpty()) {
            return NONE;
        }
        cachedBytes -= size;
        cachedBlocks--;
        return list.pop();
    }

    /**
     * A new block from the driver. When the device is full: let the collector find unreachable tensors, and take
     * their block if one has this size class (no driver call at all); otherwise give cached blocks back to the
     * driver, largest first, until the request fits, so the rest of the cache survives for the next requests.
     */
    private long fresh(long size) {
        long pointer = fromDriver(size);
        if (pointer != NONE) {
            return pointer;
        }
        collect();
        pointer = takeCached(size);
        if (pointer != NONE) {
            return pointer;
        }
        List<Long> sizes = new ArrayList<>(free.keySet());
        sizes.sort(Comparator.reverseOrder());
        for (long s : sizes) {
            releaseClass(s);
            pointer = fromDriver(size);
            if (pointer != NONE) {
                return pointer;
            }
        }
        long[] info = driver.memoryInfo();
        throw new DeviceOutOfMemoryException(deviceName, size, String.format(Locale.ROOT,
                "out of memory on %s: a tensor of %s did not fit, with %s in live tensors and %s free of %s;"
                        + " try --gradient-checkpointing, a smaller --batch-size or --train-batch-size, or"
                        + " --dtype bf16 (fp16 before sm_80)",
                deviceName, mib(size), mib(liveBytes), mib(info[0]), mib(info[1])));
    }

    /** A new block from the driver, or {@link #NONE} when the device is out of memory (other errors throw). */
    private long fromDriver(long size) {
        long[] out = new long[1];
        int rc = driver.tryAlloc(size, out);
        if (rc == Driver.OUT_OF_MEMORY) {
            return NONE;
        }
        driver.check(rc, "cuMemAlloc of " + size + " bytes");
        return out[0];
    }

    /** Gives every cached block of size class {@code size} back to the driver. */
    private void releaseClass(long size) {
        ArrayDeque<Long> list = free.remove(size);
        if (list == null) {
            return;
        }
        for (long p : list) {
            driver.free(p);
        }
        cachedBytes -= size * list.size();
        cachedBlocks -= list.size();
    }

    /** Unreachable tensors may still hold blocks: runs the collector and moves what it found to the cache. */
    private void collect() {
        System.gc();
        for (int i = 0; i < 20 && reclaim() == 0; i++) {
            try {
                Thread.sleep(5);
            } catch (InterruptedException e) {
                Thread.currentThread().interrupt();
                break;
            }
        }
    }

    private static String mib(long bytes) {
        return String.format(Locale.ROOT, "%.1f MiB", bytes / 1048576.0);
    }

    /** Moves the blocks of collected storages to the free lists; returns how many. */
    private int reclaim() {
        int n = 0;
        for (Reference<?> r; (r = released.poll()) != null; n++) {
            Block b = (Block) r;
            live.remove(b);
            liveBytes -= b.bytes;
            if (cachedBlocks >= MAX_CACHED_BLOCKS) {
                driver.free(b.pointer);
                continue;
            }
            free.computeIfAbsent(b.bytes, s -> new ArrayDeque<>()).push(b.pointer);
            cachedBytes += b.bytes;
            cachedBlocks++;
        }
        return n;
    }

    /** Frees every cached block back to the driver. */
    synchronized void releaseCached() {
        reclaim();
        for (long size : new ArrayList<>(free.keySet())) {
            releaseClass(size);
        }
    }

    synchronized long liveBytes() {
        reclaim();
        return liveBytes;
    }

    /**
     * The most bytes live tensors held at once since the last {@link #resetPeak} (blocks of tensors not yet found
     * unreachable by the garbage collector count as live, as they do on the device).
     */
    synchronized long peakLiveBytes() {
        return peakLiveBytes;
    }

    synchronized void resetPeak() {
        reclaim();
        peakLiveBytes = liveBytes;
    }

    synchronized long cachedBytes() {
        reclaim();
        return cachedBytes;
    }

    synchronized int cachedBlocks() {
        reclaim();
        return cachedBlocks;
    }
}
