package io.texforce.cuda;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import io.texforce.tensor.Tensor;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;

import java.lang.foreign.MemorySegment;
import java.lang.foreign.ValueLayout;
import java.util.ArrayList;
import java.util.List;

/**
 * Uploads through the pinned staging slots, on the CUDA host emulator, which performs an asynchronous copy only at
 * the next point that orders it: a slot written again before its copy had completed would show up as wrong data.
 */
class UploadStagingTest {
    private static CudaBackend emulator;

    @BeforeAll
    static void loadEmulator() {
        emulator = TestEmulator.backendOrSkip();
    }

    @Test
    void moreUploadsThanSlotsBeforeAnySynchronisationArriveIntact() {
        List<Tensor> tensors = new ArrayList<>();
        List<float[]> data = new ArrayList<>();
        for (int i = 0; i < 3 * UploadStaging.SLOTS + 1; i++) {
            float[] d = ParityChecks.data("upload", i, 1000 + i, -1f, 1f);
            data.add(d);
            tensors.add(Tensor.of(emulator, d, d.length));
        }
        for (int i = 0; i < tensors.size(); i++) {
            assertArrayEquals(data.get(i), emulator.toHost(tensors.get(i)), "upload " + i);
        }
    }

    @Test
    void anUploadLargerThanAllSlotsTogetherArrivesIntact() {
        int n = (int) (UploadStaging.SLOTS * UploadStaging.SLOT_BYTES / 4 * 5 / 4 + 3);  // 1.25 rings and a bit
        float[] d = ParityChecks.data("large upload", 0, n, -1f, 1f);
        Tensor t = Tensor.of(emulator, d, n);
        float[] back = emulator.toHost(t);
        assertEquals(n, back.length);
        assertArrayEquals(d, back);
    }

    @Test
    void withoutPinnedMemoryUploadsFallBackToSynchronousCopies() {
        Driver driver = TestEmulator.rawDriver();
        // 16 slots of 2^58 bytes: no host can pin that, so the first upload falls back (with a warning).
        UploadStaging staging = new UploadStaging(driver, 1L << 58);
        long[] p = new long[1];
        float[] d = ParityChecks.data("sync upload", 0, 1000, -1f, 1f);
        assertEquals(0, driver.tryAlloc(4L * d.length, p));
        try {
            staging.upload(p[0], MemorySegment.ofArray(d), 4L * d.length);
            assertTrue(staging.synchronous());
            float[] back = new float[d.length];
            driver.copyToHost(MemorySegment.ofArray(back), p[0], 4L * back.length);
            assertArrayEquals(d, back);
        } finally {
            driver.free(p[0]);
        }
    }

    @Test
    void theEmulatorCopiesAsynchronouslySoAHostBufferReusedTooEarlyIsCaught() {
        Driver driver = TestEmulator.rawDriver();
        MemorySegment pinned = driver.hostAlloc(16);
        long[] p = new long[1];
        assertEquals(0, driver.tryAlloc(16, p));
        try {
            pinned.set(ValueLayout.JAVA_FLOAT, 0, 1f);
            driver.copyToDeviceAsync(p[0], pinned, 4);
            pinned.set(ValueLayout.JAVA_FLOAT, 0, 2f);  // without waiting for the copy: a bug
            MemorySegment out = java.lang.foreign.Arena.ofAuto().allocate(4);
            driver.copyToHost(out, p[0], 4);
            assertEquals(2f, out.get(ValueLayout.JAVA_FLOAT, 0), "the copy ran at the ordering point, after the reuse");
        } finally {
            driver.free(p[0]);
        }
    }
}
