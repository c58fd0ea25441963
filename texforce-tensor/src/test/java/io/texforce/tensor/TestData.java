package io.texforce.tensor;

import java.nio.file.Files;
import java.nio.file.Path;

/** Locates the repository's {@code testdata/} folder from any module's working directory. */
public final class TestData {
    private TestData() {
    }

    public static Path root() {
        Path dir = Path.of("").toAbsolutePath();
        for (Path p = dir; p != null; p = p.getParent()) {
            Path candidate = p.resolve("testdata");
            if (Files.isDirectory(candidate.resolve("tiny-sd1"))) {
                return candidate;
            }
        }
        throw new IllegalStateException("testdata/ not found above " + dir);
    }

    public static Path tinySd1() {
        return root().resolve("tiny-sd1");
    }

    public static Path tinyClip() {
        return root().resolve("tiny-clip");
    }

    public static Path configs() {
        return root().resolve("configs");
    }
}
