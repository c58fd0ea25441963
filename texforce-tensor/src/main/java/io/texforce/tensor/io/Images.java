package io.texforce.tensor.io;

import io.texforce.tensor.Tensor;

import javax.imageio.ImageIO;
import java.awt.image.BufferedImage;
import java.io.ByteArrayOutputStream;
import java.io.IOException;
import java.io.UncheckedIOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.StandardCopyOption;
import java.util.List;

/** Conversions between image tensors (NCHW / CHW, RGB, values in [0, 1]) and PNG files. */
public final class Images {
    private Images() {
    }

    /** One image [3, H, W] (or [1, 3, H, W]) in [0, 1] as 8-bit RGB, rounding as diffusers' numpy_to_pil. */
    public static BufferedImage toImage(Tensor image) {
        Tensor img = image.dim() == 4 ? image.select(0, 0) : image;
        int c = img.size(0), h = img.size(1), w = img.size(2);
        if (c != 3 && c != 1) {
            throw new IllegalArgumentException("expected an RGB or grey image [3|1, H, W], got " + img);
        }
        float[] d = img.toFloatArray();
        BufferedImage out = new BufferedImage(w, h, BufferedImage.TYPE_INT_RGB);
        for (int y = 0; y < h; y++) {
            for (int x = 0; x < w; x++) {
                int r = to8(d[y * w + x]);
                int g = c == 3 ? to8(d[(h + y) * w + x]) : r;
                int b = c == 3 ? to8(d[(2 * h + y) * w + x]) : r;
                out.setRGB(x, y, (r << 16) | (g << 8) | b);
            }
        }
        return out;
    }

    private static int to8(float v) {
        return Math.round(Math.min(1f, Math.max(0f, v)) * 255f);
    }

    /** An 8-bit RGB image as [3, H, W] in [0, 1]. */
    public static Tensor fromImage(BufferedImage img) {
        int h = img.getHeight(), w = img.getWidth();
        float[] d = new float[3 * h * w];
        for (int y = 0; y < h; y++) {
            for (int x = 0; x < w; x++) {
                int rgb = img.getRGB(x, y);
                d[y * w + x] = ((rgb >> 16) & 255) / 255f;
                d[(h + y) * w + x] = ((rgb >> 8) & 255) / 255f;
                d[(2 * h + y) * w + x] = (rgb & 255) / 255f;
            }
        }
        return Tensor.of(d, 3, h, w);
    }

    /** PNG bytes of one image in [0, 1]. */
    public static byte[] png(Tensor image) {
        ByteArrayOutputStream bytes = new ByteArrayOutputStream();
        try {
            ImageIO.write(toImage(image), "png", bytes);
        } catch (IOException e) {
            throw new UncheckedIOException(e);
        }
        return bytes.toByteArray();
    }

    /** Writes a PNG atomically (temporary file then rename). */
    public static void writePng(Tensor image, Path file) {
        writeAtomically(png(image), file);
    }

    /**
     * Images [N, 3, H, W] tiled into a grid of {@code columns} columns, as one [3, rows*H, columns*W] image on the
     * images' backend.
     */
    public static Tensor grid(Tensor images, int columns) {
        int n = images.size(0), h = images.size(2), w = images.size(3);
        int rows = (n + columns - 1) / columns;
        Tensor canvas = images.backend().full(new int[]{3, rows * h, columns * w}, 0f);
        for (int i = 0; i < n; i++) {
            canvas.narrow(1, (i / columns) * h, h).narrow(2, (i % columns) * w, w).copyFrom(images.select(0, i).detach());
        }
        return canvas;
    }

    public static void writeAtomically(byte[] data, Path file) {
        try {
            Path dir = file.toAbsolutePath().getParent();
            Files.createDirectories(dir);
            Path tmp = Files.createTempFile(dir, "." + file.getFileName(), ".tmp");
            try {
                Files.write(tmp, data);
                Files.move(tmp, file, StandardCopyOption.ATOMIC_MOVE, StandardCopyOption.REPLACE_EXISTING);
            } finally {
                Files.deleteIfExists(tmp);
            }
        } catch (IOException e) {
            throw new UncheckedIOException("cannot write " + file + ": " + e.getMessage(), e);
        }
    }

    /** Loads PNG/JPEG files as [N, 3, H, W] in [0, 1]; all must have the same size. */
    public static Tensor load(List<Path> files) {
        Tensor[] parts = new Tensor[files.size()];
        for (int i = 0; i < parts.length; i++) {
            try {
                BufferedImage img = ImageIO.read(files.get(i).toFile());
                if (img == null) {
                    throw new IllegalArgumentException(files.get(i) + " is not a readable image");
                }
                parts[i] = fromImage(img);
            } catch (IOException e) {
                throw new UncheckedIOException("cannot read " + files.get(i) + ": " + e.getMessage(), e);
            }
        }
        return Tensor.stack(List.of(parts), 0);
    }
}
