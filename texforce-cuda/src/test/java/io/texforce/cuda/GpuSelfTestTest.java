package io.texforce.cuda;

import static org.junit.jupiter.api.Assertions.assertEquals;

import org.junit.jupiter.api.Test;

/** The GPU session's self-test program, run here on the CUDA host emulator with a name filter. */
class GpuSelfTestTest {
    @Test
    void theSelfTestPassesOnTheEmulator() {
        String lib = TestEmulator.libraryOrSkip().toString();
        String before = System.getProperty("texforce.cuda.emulator");
        System.setProperty("texforce.cuda.emulator", lib);
        try {
            assertEquals(0, GpuSelfTest.run("--emulator", "group norm"));
        } finally {
            if (before == null) System.clearProperty("texforce.cuda.emulator");
            else System.setProperty("texforce.cuda.emulator", before);
        }
    }
}
