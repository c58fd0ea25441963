package io.texforce.cuda;

import static org.junit.jupiter.api.Assertions.assertTrue;

import org.junit.jupiter.api.Test;

import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.Set;
import java.util.TreeSet;
import java.util.regex.Matcher;
import java.util.regex.Pattern;
import java.util.stream.Stream;

/**
 * Every kernel CudaBackend launches by name is defined in native/: a misspelt name would otherwise surface only as a
 * cuModuleGetFunction failure on a GPU. Reads the sources, so it runs on any machine.
 */
class KernelNamesTest {
    private static final Pattern DEFINED =
            Pattern.compile("extern \"C\" __global__ void\\s+(?:__launch_bounds__\\([^)]*\\)\\s+)?(\\w+)\\(");
    private static final Pattern LAUNCHED = Pattern.compile("kernels\\.(?:elementwise|launch)\\(\\s*\"(\\w+)\"");
    private static final Pattern PER_FORMAT = Pattern.compile("halfKernel\\(\"(\\w+)\"");

    @Test
    void everyLaunchedKernelIsDefined() throws IOException {
        Set<String> defined = new TreeSet<>();
        try (Stream<Path> files = Files.list(Path.of("..", "native"))) {
            for (Path cu : files.filter(p -> p.toString().endsWith(".cu")).toList()) {
                Matcher m = DEFINED.matcher(Files.readString(cu));
                while (m.find()) {
                    defined.add(m.group(1));
                }
            }
        }
        // TensorCoreAttention names the tensor-core attention kernels for CudaBackend.
        String backend = Files.readString(Path.of("src/main/java/io/texforce/cuda/CudaBackend.java"))
                + Files.readString(Path.of("src/main/java/io/texforce/cuda/TensorCoreAttention.java"));
        Set<String> launched = new TreeSet<>();
        Matcher m = LAUNCHED.matcher(backend);
        while (m.find()) {
            launched.add(m.group(1));
        }
        Matcher f = PER_FORMAT.matcher(backend);
        int perFormat = 0;
        while (f.find()) {
            perFormat++;
            for (String format : new String[]{"bf16", "fp16"}) {
                launched.add(f.group(1) + "_" + format);
            }
        }
        System.out.printf("%d kernels defined in native/, %d launched by name (%d with bf16/fp16 variants)%n",
                defined.size(), launched.size(), perFormat);
        assertTrue(perFormat >= 5, "expected the 16-bit kernels among the launches, found " + perFormat);
        Set<String> missing = new TreeSet<>(launched);
        missing.removeAll(defined);
        assertTrue(missing.isEmpty(), () -> "launched but not defined in native/*.cu: " + missing);
    }
}
