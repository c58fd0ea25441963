package io.texforce.cuda;

import static org.junit.jupiter.api.Assumptions.assumeTrue;

import java.nio.file.Files;
import java.nio.file.Path;

/** The CUDA host emulator this module's build makes (native/emu/build.sh --if-possible), for tests. */
final class TestEmulator {
    private TestEmulator() {
    }

    /** The library's path, or a skipped test (with the reason) where the build could not make it. */
    static Path libraryOrSkip() {
        String property = System.getProperty("texforce.test.cuda.emulator", "");
        assumeTrue(!property.isEmpty() && Files.isRegularFile(Path.of(property)),
                () -> "CUDA emulator tests skipped: '" + property + "' was not built (native/emu/build.sh needs "
                        + "g++ 11+ on x86-64 and CUDA's headers)");
        return Path.of(property);
    }

    /**
     * The emulator's driver for tests that allocate through it directly, with the backend's cached blocks given back
     * first: the emulated device holds at most 16384 allocations, and a test JVM's caching allocator may hold them.
     */
    static Driver rawDriver() {
        DeviceAllocator allocator = backendOrSkip().allocator();
        System.gc();
        allocator.releaseCached();
        return Driver.loadEmulator(libraryOrSkip());
    }

    /** The backend on the emulator, or a skipped test. */
    static CudaBackend backendOrSkip() {
        return CudaEmulator.backend(libraryOrSkip());
    }
}
