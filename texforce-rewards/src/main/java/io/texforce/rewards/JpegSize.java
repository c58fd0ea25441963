package io.texforce.rewards;

import io.texforce.tensor.Tensor;
import io.texforce.tensor.io.Images;

import javax.imageio.IIOImage;
import javax.imageio.ImageIO;
import javax.imageio.ImageWriteParam;
import javax.imageio.ImageWriter;
import javax.imageio.stream.MemoryCacheImageOutputStream;
import java.io.ByteArrayOutputStream;
import java.io.IOException;
import java.io.UncheckedIOException;
import java.util.List;

/**
 * DDPO's JPEG rewards: the size in kB of each image saved as JPEG at quality 95. {@code compressibility} is the
 * negated size (smaller files score higher), {@code incompressibility} the size itself.
 */
public final class JpegSize implements Reward {
    private final boolean negate;

    private JpegSize(boolean negate) {
        this.negate = negate;
    }

    /** Rewards images that compress well: -kB. */
    public static JpegSize compressibility() {
        return new JpegSize(true);
    }

    /** Rewards images that compress badly: +kB. */
    public static JpegSize incompressibility() {
        return new JpegSize(false);
    }

    @Override
    public String name() {
        return negate ? "jpeg-compressibility" : "jpeg-incompressibility";
    }

    @Override
    public float[] score(Tensor images, List<String> prompts) {
        int b = images.size(0);
        float[] out = new float[b];
        for (int i = 0; i < b; i++) {
            float kb = jpegBytes(images.select(0, i)) / 1000f;
            out[i] = negate ? -kb : kb;
        }
        return out;
    }

    /** The size of one image [3, H, W] in [0, 1] encoded as baseline JPEG at quality 95. */
    public static int jpegBytes(Tensor image) {
        ImageWriter writer = ImageIO.getImageWritersByFormatName("jpeg").next();
        try (ByteArrayOutputStream bytes = new ByteArrayOutputStream();
             MemoryCacheImageOutputStream stream = new MemoryCacheImageOutputStream(bytes)) {
            writer.setOutput(stream);
            ImageWriteParam p = writer.getDefaultWriteParam();
            p.setCompressionMode(ImageWriteParam.MODE_EXPLICIT);
            p.setCompressionQuality(0.95f);
            writer.write(null, new IIOImage(Images.toImage(image), null, null), p);
            stream.flush();
            return bytes.size();
        } catch (IOException e) {
            throw new UncheckedIOException(e);
        } finally {
            writer.dispose();
        }
    }
}
