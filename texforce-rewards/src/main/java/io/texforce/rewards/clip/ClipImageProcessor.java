package io.texforce.rewards.clip;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import io.texforce.tensor.Shape;
import io.texforce.tensor.Tensor;

import java.io.IOException;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;

/**
 * CLIP's image preprocessing: Pillow bicubic resize, crop or pad to the model's input size, rescale to [0, 1] and
 * normalise by mean and std, as transformers' {@code CLIPImageProcessor} (shortest edge then center crop) or
 * open_clip's {@code ResizeMaxSize} (longest edge then zero padding, HPSv2's rule).
 *
 * @param resize     how the image is brought to {@code size}
 * @param size       the target edge length
 * @param cropHeight output height (center crop, or padding where the resized image is smaller)
 * @param cropWidth  output width
 * @param rescale    factor from 8-bit values to the model's range (1/255)
 * @param mean       per-channel mean subtracted after rescaling
 * @param std        per-channel std divided by after that
 */
public record ClipImageProcessor(Resize resize, int size, int cropHeight, int cropWidth, float rescale, float[] mean,
                                 float[] std) {
    /** OpenAI CLIP's normalisation, used by every CLIP reward model here. */
    public static final float[] CLIP_MEAN = {0.48145466f, 0.4578275f, 0.40821073f};
    public static final float[] CLIP_STD = {0.26862954f, 0.26130258f, 0.27577711f};

    /** Resize rules. */
    public enum Resize {
        /** Scale so the shorter edge is {@code size} (the longer edge truncated, as transformers computes it). */
        SHORTEST_EDGE,
        /** Scale so the longer edge is {@code size} (rounded), as open_clip's ResizeMaxSize. */
        LONGEST_EDGE,
        /** Leave the image as it is. */
        NONE
    }

    public ClipImageProcessor {
        if (mean.length != 3 || std.length != 3) {
            throw new IllegalArgumentException("image mean and std need 3 channels, got " + mean.length + " and "
                    + std.length);
        }
        mean = mean.clone();
        std = std.clone();
    }

    /** transformers' CLIPImageProcessor for a model of input size {@code size} (224 for ViT-L/14 and ViT-H/14). */
    public static ClipImageProcessor clip(int size) {
        return new ClipImageProcessor(Resize.SHORTEST_EDGE, size, size, size, 1f / 255, CLIP_MEAN, CLIP_STD);
    }

    /** open_clip's ResizeMaxSize preprocessing used by HPSv2: longest edge to {@code size}, centred, zero padded. */
    public static ClipImageProcessor longestEdgePadded(int size) {
        return new ClipImageProcessor(Resize.LONGEST_EDGE, size, size, size, 1f / 255, CLIP_MEAN, CLIP_STD);
    }

    /** Reads a transformers {@code preprocessor_config.json} of a CLIPImageProcessor. */
    public static ClipImageProcessor load(Path json) {
        JsonNode n;
        try {
            n = new ObjectMapper().readTree(json.toFile());
        } catch (IOException e) {
            throw new IllegalArgumentException("cannot read image processor config " + json + ": " + e.getMessage(), e);
        }
        int resample = n.path("resample").asInt(3);
        if (resample != 3) {
            throw new IllegalArgumentException(json + ": resample " + resample + " is not supported (only 3, bicubic)");
        }
        JsonNode sizeNode = n.path("size");
        int size = sizeNode.isInt() ? sizeNode.asInt() : sizeNode.path("shortest_edge").asInt(224);
        if (sizeNode.has("height") || sizeNode.has("width")) {
            throw new IllegalArgumentException(json + ": a fixed {height, width} resize is not a CLIP preprocessing;"
                    + " expected size.shortest_edge");
        }
        Resize resize = n.path("do_resize").asBoolean(true) ? Resize.SHORTEST_EDGE : Resize.NONE;
        int cropH = 0, cropW = 0;
        if (n.path("do_center_crop").asBoolean(true)) {
            JsonNode crop = n.path("crop_size");
            cropH = crop.isInt() ? crop.asInt() : crop.path("height").asInt(size);
            cropW = crop.isInt() ? crop.asInt() : crop.path("width").asInt(size);
        }
        float rescale = n.path("do_rescale").asBoolean(true) ? (float) n.path("rescale_factor").asDouble(1 / 255.0) : 1f;
        float[] mean = {0, 0, 0}, std = {1, 1, 1};
        if (n.path("do_normalize").asBoolean(true)) {
            mean = floats(n.path("image_mean"), CLIP_MEAN, json);
            std = floats(n.path("image_std"), CLIP_STD, json);
        }
        return new ClipImageProcessor(resize, size, cropH, cropW, rescale, mean, std);
    }

    private static float[] floats(JsonNode array, float[] fallback, Path json) {
        if (array.isMissingNode()) {
            return fallback;
        }
        if (!array.isArray() || array.size() != 3) {
            throw new IllegalArgumentException(json + ": expected 3 channel values, got " + array);
        }
        return new float[]{(float) array.get(0).asDouble(), (float) array.get(1).asDouble(),
                (float) array.get(2).asDouble()};
    }

    /** Pixel values [B, 3, H, W] of generated images [B, 3, h, w] in [0, 1] (quantised to 8 bits first). */
    public Tensor preprocess(Tensor images) {
        int[] s = images.shape();
        if (s.length != 4 || s[1] != 3) {
            throw new IllegalArgumentException("expected RGB images [B, 3, H, W], got " + Shape.str(s));
        }
        List<Rgb8Image> list = new ArrayList<>(s[0]);
        for (int i = 0; i < s[0]; i++) {
            list.add(Rgb8Image.fromTensor(images.select(0, i)));
        }
        return preprocess(list);
    }

    /** Pixel values [B, 3, H, W] of 8-bit images; every image must come out the same size. */
    public Tensor preprocess(List<Rgb8Image> images) {
        List<Tensor> out = new ArrayList<>(images.size());
        for (Rgb8Image img : images) {
            out.add(normalize(resizeAndCrop(img)));
        }
        return Tensor.stack(out, 0);
    }

    /** The 8-bit image after resizing and cropping or padding, before rescaling. */
    public Rgb8Image resizeAndCrop(Rgb8Image img) {
        int h = img.height(), w = img.width();
        Rgb8Image resized = switch (resize) {
            case NONE -> img;
            case SHORTEST_EDGE -> {
                int shortSide = Math.min(h, w), longSide = Math.max(h, w);
                int scaledLong = (int) ((long) size * longSide / shortSide);
                yield h <= w ? PilResize.bicubic(img, scaledLong, size) : PilResize.bicubic(img, size, scaledLong);
            }
            case LONGEST_EDGE -> {
                double scale = (double) size / Math.max(h, w);
                yield PilResize.bicubic(img, (int) Math.rint(w * scale), (int) Math.rint(h * scale));
            }
        };
        if (cropHeight == 0) {
            return resized;
        }
        return centerCrop(resized, cropHeight, cropWidth, resize == Resize.LONGEST_EDGE);
    }

    /**
     * The centred {@code height x width} window, zero padded where the image is smaller. An odd pixel of padding
     * goes before the image in transformers' center_crop, after it in open_clip's ResizeMaxSize
     * ({@code oddPaddingAfter}).
     */
    static Rgb8Image centerCrop(Rgb8Image img, int height, int width, boolean oddPaddingAfter) {
        int top = offset(img.height(), height, oddPaddingAfter), left = offset(img.width(), width, oddPaddingAfter);
        byte[] px = new byte[height * width * 3];
        for (int y = 0; y < height; y++) {
            int sy = y + top;
            if (sy < 0 || sy >= img.height()) {
                continue;
            }
            for (int x = 0; x < width; x++) {
                int sx = x + left;
                if (sx >= 0 && sx < img.width()) {
                    System.arraycopy(img.pixels(), (sy * img.width() + sx) * 3, px, (y * width + x) * 3, 3);
                }
            }
        }
        return new Rgb8Image(height, width, px);
    }

    /** The source index of output index 0 along an axis of {@code in} samples cropped or padded to {@code out}. */
    private static int offset(int in, int out, boolean oddPaddingAfter) {
        return oddPaddingAfter && in < out ? -((out - in) / 2) : Math.floorDiv(in - out, 2);
    }

    private Tensor normalize(Rgb8Image img) {
        int h = img.height(), w = img.width();
        float[] d = new float[3 * h * w];
        for (int c = 0; c < 3; c++) {
            for (int i = 0; i < h * w; i++) {
                d[c * h * w + i] = ((img.pixels()[i * 3 + c] & 0xFF) * rescale - mean[c]) / std[c];
            }
        }
        return Tensor.of(d, 3, h, w);
    }

    @Override
    public float[] mean() {
        return mean.clone();
    }

    @Override
    public float[] std() {
        return std.clone();
    }
}
