package io.texforce.cli;

import java.nio.file.Files;
import java.nio.file.Path;

/** Finds the components of a diffusers pipeline folder given on the command line. */
final class ModelDir {
    private ModelDir() {
    }

    /** {@code dir/<component>} of a pipeline folder, or {@code dir} itself when it is that component's folder. */
    static Path component(Path dir, String component, String marker) {
        if (Files.isRegularFile(dir)) {
            throw new UserError(dir + " is a file, not a diffusers pipeline folder; convert a single-file checkpoint"
                    + " once with: texforce convert --to-diffusers " + dir + " <folder>");
        }
        if (!Files.isDirectory(dir)) {
            throw new UserError("model folder " + dir + " does not exist");
        }
        Path sub = dir.resolve(component);
        if (Files.isDirectory(sub)) {
            return sub;
        }
        if (Files.exists(dir.resolve(marker))) {
            return dir;
        }
        throw new UserError(dir + " has no " + component + "/ folder (expected a diffusers pipeline folder)");
    }

    /** The tokenizer folder of a pipeline folder, or {@code dir} itself when it holds tokenizer files. */
    static Path tokenizer(Path dir) {
        if (Files.isDirectory(dir) && !Files.isDirectory(dir.resolve("tokenizer"))
                && io.texforce.clip.tokenizer.ClipTokenizer.isTokenizerFolder(dir)) {
            return dir;
        }
        return component(dir, "tokenizer", "vocab.json");
    }
}
