package io.texforce.tensor.io.torch;

import io.texforce.tensor.nn.SafeTensorsSource;
import io.texforce.tensor.nn.WeightSource;

import java.nio.file.Files;
import java.nio.file.Path;
import java.util.Locale;

/** An open checkpoint file of either kind a reward model ships as: safetensors, or a PyTorch pickle. */
public final class WeightFile implements AutoCloseable {
    private final WeightSource source;
    private final AutoCloseable closer;

    private WeightFile(WeightSource source, AutoCloseable closer) {
        this.source = source;
        this.closer = closer;
    }

    /**
     * Opens {@code file} by its extension: {@code .safetensors}, or {@code .pt/.pth/.bin/.ckpt} read with the
     * restricted {@link TorchCheckpoint} reader.
     */
    public static WeightFile open(Path file) {
        if (!Files.isRegularFile(file)) {
            throw new IllegalArgumentException("weights file " + file + " does not exist");
        }
        String name = file.getFileName().toString().toLowerCase(Locale.ROOT);
        if (name.endsWith(".safetensors")) {
            SafeTensorsSource s = SafeTensorsSource.open(file);
            return new WeightFile(s, s);
        }
        if (name.endsWith(".pt") || name.endsWith(".pth") || name.endsWith(".bin") || name.endsWith(".ckpt")) {
            TorchCheckpoint c = TorchCheckpoint.open(file);
            return new WeightFile(c, c);
        }
        throw new IllegalArgumentException("cannot tell the format of " + file
                + " (expected .safetensors, .pt, .pth, .bin or .ckpt)");
    }

    /** The file's tensors by name. */
    public WeightSource source() {
        return source;
    }

    @Override
    public void close() {
        try {
            closer.close();
        } catch (Exception e) {
            throw new IllegalStateException("cannot close " + source.describe() + ": " + e.getMessage(), e);
        }
    }
}
