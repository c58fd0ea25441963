package io.texforce.cuda;

import java.lang.foreign.MemorySegment;
import java.lang.foreign.ValueLayout;

/**
 * Host-to-device uploads through page-locked staging buffers, so that an upload returns as soon as its bytes are
 * staged instead of when the GPU has finished everything queued before it. A synchronous copy from pageable (Java
 * heap) memory waits for the default stream to drain, so every constant, token-id or advantage tensor uploaded
 * between kernels would stall the host and leave the GPU idle until the host caught up again.
 *
 * <p>{@value #SLOTS} slots of {@value #SLOT_BYTES} bytes are used round robin, each guarded by an event recorded
 * after its copy: a slot is written again only after that event has completed. Larger uploads go through the slots
 * in chunks, so the host's copy into one slot overlaps the transfer of the previous ones. The buffers are allocated
 * on first use (32 MiB of pinned memory) and kept for the process's life, as the backend is. Where pinned memory
 * cannot be had, uploads fall back to synchronous copies (with a warning), slower but correct.
 */
final class UploadStaging {
    static final int SLOTS = 16;
    static final long SLOT_BYTES = 2L << 20;

    private final Driver driver;
    private final long slotBytes;
    private MemorySegment buffer;
    private boolean unavailable;
    private final MemorySegment[] events = new MemorySegment[SLOTS];
    private final boolean[] inFlight = new boolean[SLOTS];
    private int next;

    UploadStaging(Driver driver) {
        this(driver, SLOT_BYTES);
    }

    /** Staging with slots of {@code slotBytes} (tests ask for more pinned memory than there is). */
    UploadStaging(Driver driver, long slotBytes) {
        this.driver = driver;
        this.slotBytes = slotBytes;
    }

    /** Whether uploads fell back to synchronous copies because no pinned memory could be had. */
    synchronized boolean synchronous() {
        return unavailable;
    }

    /** Queues a copy of {@code bytes} bytes of {@code src} (any memory, Java arrays included) to device {@code dst}. */
    synchronized void upload(long dst, MemorySegment src, long bytes) {
        if (buffer == null && !unavailable) {
            try {
                buffer = driver.hostAlloc(SLOTS * slotBytes);
            } catch (CudaException e) {
                unavailable = true;
                System.getLogger(UploadStaging.class.getName()).log(System.Logger.Level.WARNING,
                        "no pinned staging memory ({0}); uploads are synchronous", e.getMessage());
            }
            for (int i = 0; buffer != null && i < SLOTS; i++) {
                events[i] = driver.createEvent();
            }
        }
        if (unavailable) {
            driver.copyToDevice(dst, src, bytes);
            return;
        }
        for (long done = 0; done < bytes; ) {
            long n = Math.min(slotBytes, bytes - done);
            int slot = next;
            next = (next + 1) % SLOTS;
            if (inFlight[slot]) {
                driver.synchronizeEvent(events[slot]);
            }
            MemorySegment staged = buffer.asSlice(slot * slotBytes, n);
            MemorySegment.copy(src, ValueLayout.JAVA_BYTE, done, staged, ValueLayout.JAVA_BYTE, 0, n);
            driver.copyToDeviceAsync(dst + done, staged, n);
            driver.recordEvent(events[slot]);
            inFlight[slot] = true;
            done += n;
        }
    }
}
