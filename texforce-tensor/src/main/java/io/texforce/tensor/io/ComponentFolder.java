package io.texforce.tensor.io;

import java.nio.file.Files;
import java.nio.file.Path;

/**
 * A component of a diffusers pipeline folder ({@code text_encoder/}, {@code unet/}, {@code vae/}): given either the
 * pipeline folder or the component folder itself, finds the folder and its {@code config.json}.
 */
public record ComponentFolder(Path folder, Path config) {

    /** Resolves {@code dir/name} (or {@code dir} itself) and checks that it holds a config.json. */
    public static ComponentFolder resolve(Path dir, String name) {
        Path folder = Files.isDirectory(dir.resolve(name)) ? dir.resolve(name) : dir;
        Path config = folder.resolve("config.json");
        if (!Files.isRegularFile(config)) {
            throw new IllegalArgumentException("no config.json in " + folder + " (expected a diffusers pipeline folder"
                    + " or its " + name + "/ folder)");
        }
        return new ComponentFolder(folder, config);
    }
}
