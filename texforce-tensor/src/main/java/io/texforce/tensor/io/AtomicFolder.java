package io.texforce.tensor.io;

import java.io.IOException;
import java.io.UncheckedIOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.StandardCopyOption;
import java.util.Comparator;
import java.util.concurrent.ThreadLocalRandom;
import java.util.stream.Stream;

/**
 * Creates a folder all at once: its contents are written into a hidden sibling, which is renamed into place only
 * when the writer returns. A failed or killed write leaves no half-written folder under the final name.
 */
public final class AtomicFolder {
    /** What fills the folder, given the temporary path to write into. */
    @FunctionalInterface
    public interface Contents {
        void write(Path dir) throws IOException;
    }

    private AtomicFolder() {
    }

    /** Writes {@code out}, which must not exist yet. */
    public static void create(Path out, Contents contents) {
        if (Files.exists(out)) {
            throw new IllegalArgumentException("output folder " + out + " exists already: choose a new one");
        }
        Path temp = out.toAbsolutePath().resolveSibling("." + out.getFileName() + ".tmp-"
                + Long.toHexString(ThreadLocalRandom.current().nextLong()));
        try {
            Files.createDirectories(temp);
            contents.write(temp);
            Files.move(temp, out, StandardCopyOption.ATOMIC_MOVE);
        } catch (IOException e) {
            deleteQuietly(temp);
            throw new UncheckedIOException("cannot write " + out + ": " + e.getMessage(), e);
        } catch (RuntimeException | Error e) {
            deleteQuietly(temp);
            throw e;
        }
    }

    private static void deleteQuietly(Path dir) {
        if (!Files.exists(dir)) {
            return;
        }
        try (Stream<Path> s = Files.walk(dir)) {
            s.sorted(Comparator.reverseOrder()).forEach(p -> p.toFile().delete());
        } catch (IOException ignored) {
            // best effort: what is left is a hidden temporary folder beside the output
        }
    }
}
