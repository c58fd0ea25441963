package io.texforce.tensor.cpu;

import jdk.incubator.vector.FloatVector;
import jdk.incubator.vector.VectorSpecies;

/**
 * Operand packing shared by the attention workers. Each call packs a whole [heads, rows, cols] input once into
 * the strip layouts of {@link GemmMicroKernel}, so that the many blocks that read it share one copy; rows are
 * padded with zeros to {@code rowsPad} (a multiple of the attention block) and columns to whole strips.
 */
final class AttentionBlocks {
    private static final VectorSpecies<Float> F = GemmMicroKernel.SPECIES;

    private AttentionBlocks() {
    }

    /**
     * Row strips: each head becomes rowsPad / width strips of [cols][width], i.e. element (h, r, c) lands at
     * {@code h*rowsPad*cols + (r/width)*cols*width + c*width + r%width}. The packed-A layout for products that
     * take {@code width} rows at a time, or the packed-B layout of a transposed operand.
     */
    static float[] rowStrips(float[] src, int heads, int rows, int cols, int width, int rowsPad) {
        float[] packed = new float[heads * rowsPad * cols];
        Parallel.forRange(heads * Math.ceilDiv(rows, width), 16, (lo, hi) -> {
            int strips = Math.ceilDiv(rows, width);
            for (int t = lo; t < hi; t++) {
                int h = t / strips, r0 = t % strips * width, n = Math.min(width, rows - r0);
                int dst = h * rowsPad * cols + r0 * cols;
                for (int r = 0; r < n; r++) {
                    int from = (h * rows + r0 + r) * cols;
                    for (int c = 0; c < cols; c++) {
                        packed[dst + c * width + r] = src[from + c];
                    }
                }
            }
        });
        return packed;
    }

    /** Columns rounded up to whole strips of {@code width}. */
    static int paddedColumns(int cols, int width) {
        return Math.ceilDiv(cols, width) * width;
    }

    /**
     * Column strips: each head becomes paddedColumns(cols, width) / width strips of [rowsPad][width], i.e. element
     * (h, r, c) lands at {@code h*colsPad*rowsPad + (c/width)*rowsPad*width + r*width + c%width}. The packed-B
     * layout of a row-major operand, or the packed-A layout of a transposed one.
     */
    static float[] columnStrips(float[] src, int heads, int rows, int cols, int width, int rowsPad) {
        int colsPad = paddedColumns(cols, width), strips = colsPad / width;
        float[] packed = new float[heads * colsPad * rowsPad];
        Parallel.forRange(heads * strips, 4, (lo, hi) -> {
            for (int t = lo; t < hi; t++) {
                int h = t / strips, c0 = t % strips * width, n = Math.min(width, cols - c0);
                int dst = h * colsPad * rowsPad + c0 * rowsPad;
                for (int r = 0; r < rows; r++) {
                    System.arraycopy(src, (h * rows + r) * cols + c0, packed, dst + r * width, n);
                }
            }
        });
        return packed;
    }

    /** dst[dstOff + i] += src[srcOff + i] for i in [0, len). */
    static void addInto(float[] src, int srcOff, float[] dst, int dstOff, int len) {
        int bound = F.loopBound(len), i = 0;
        for (; i < bound; i += F.length()) {
            FloatVector.fromArray(F, dst, dstOff + i).add(FloatVector.fromArray(F, src, srcOff + i))
                    .intoArray(dst, dstOff + i);
        }
        for (; i < len; i++) {
            dst[dstOff + i] += src[srcOff + i];
        }
    }
}
