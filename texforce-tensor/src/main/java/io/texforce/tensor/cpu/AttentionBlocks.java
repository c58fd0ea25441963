package io.texforce.tensor.cpu;

import java.util.Arrays;
import jdk.incubator.vector.FloatVector;
import jdk.incubator.vector.VectorSpecies;

/** Block copies shared by the attention workers: gathering rows into padded or transposed scratch buffers. */
final class AttentionBlocks {
    private static final VectorSpecies<Float> F = BlockMatmul.F;

    private AttentionBlocks() {
    }

    /**
     * Writes the transpose of src rows [rows][cols] (starting at srcOff, row stride cols) into dst [cols][ld]
     * starting at dstOff, zeroing columns [rows, width) so that padded lanes contribute nothing.
     */
    static void transposeRows(float[] src, int srcOff, int rows, int cols, float[] dst, int dstOff, int ld,
                              int width) {
        for (int r = 0; r < rows; r++) {
            int s = srcOff + r * cols;
            for (int c = 0; c < cols; c++) {
                dst[dstOff + c * ld + r] = src[s + c];
            }
        }
        if (width > rows) {
            for (int c = 0; c < cols; c++) {
                Arrays.fill(dst, dstOff + c * ld + rows, dstOff + c * ld + width, 0f);
            }
        }
    }

    /** Copies src rows [rows][cols] into dst [rows][ld] with columns [cols, ld) zeroed. */
    static void copyRowsPadded(float[] src, int srcOff, int rows, int cols, float[] dst, int ld) {
        for (int r = 0; r < rows; r++) {
            System.arraycopy(src, srcOff + r * cols, dst, r * ld, cols);
            if (ld > cols) {
                Arrays.fill(dst, r * ld + cols, (r + 1) * ld, 0f);
            }
        }
    }

    /** dst[dstOff + i] = src[srcOff + i] * factor for i in [0, len). */
    static void scaleInto(float[] src, int srcOff, float factor, float[] dst, int dstOff, int len) {
        int bound = F.loopBound(len), i = 0;
        for (; i < bound; i += F.length()) {
            FloatVector.fromArray(F, src, srcOff + i).mul(factor).intoArray(dst, dstOff + i);
        }
        for (; i < len; i++) {
            dst[dstOff + i] = src[srcOff + i] * factor;
        }
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
