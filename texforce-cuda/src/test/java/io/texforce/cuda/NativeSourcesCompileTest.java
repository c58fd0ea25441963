package io.texforce.cuda;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;
import static org.junit.jupiter.api.Assumptions.assumeTrue;

import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

import java.nio.file.Files;
import java.nio.file.Path;

/** native/ compiles with nvcc, warnings as errors, into the fat binary the backend loads; skipped without nvcc. */
class NativeSourcesCompileTest {
    private static final Path NVCC = Path.of("/usr/local/cuda/bin/nvcc");

    @Test
    void kernelsCompileToAFatBinary(@TempDir Path out) throws Exception {
        assumeTrue(Files.isExecutable(NVCC), "nvcc not installed at " + NVCC + "; kernel compilation not checked");
        Path script = Path.of("..", "native", "build.sh").toAbsolutePath().normalize();
        assertTrue(Files.isExecutable(script), script + " missing");
        Process p = new ProcessBuilder(script.toString(), "--fatbin-only", out.toString())
                .redirectErrorStream(true).start();
        String log = new String(p.getInputStream().readAllBytes());
        assertEquals(0, p.waitFor(), () -> "native/build.sh failed:\n" + log);
        Path fatbin = out.resolve(KernelModule.RESOURCE);
        assertTrue(Files.size(fatbin) > 100_000, () -> fatbin + " is only " + fatbin.toFile().length() + " bytes");
        System.out.println("fat binary: " + Files.size(fatbin) + " bytes");
    }

    @Test
    void theJarCarriesTheKernelsWhenNvccIsPresent() {
        assumeTrue(Files.isExecutable(NVCC), "nvcc not installed; the jar is built without kernels");
        assertTrue(KernelModule.packaged(), "the build ran on a machine with nvcc but packed no kernels");
    }
}
