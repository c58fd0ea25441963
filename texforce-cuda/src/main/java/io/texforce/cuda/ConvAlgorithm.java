package io.texforce.cuda;

import java.util.Arrays;
import java.util.Locale;

/**
 * How {@link CudaBackend} runs 2-D convolutions ({@link CudaBackend#setConvAlgorithm}). Every choice computes the
 * same cross-correlation with float32 sums; they differ in speed, memory and in which format mixes they take.
 */
public enum ConvAlgorithm {
    /**
     * The default: im2col into a column buffer, then one cuBLAS GEMM per batch (float32, TF32 or 16-bit inputs);
     * backward through cuBLAS and col2im. Takes every mix of weight and activation formats.
     */
    IM2COL_GEMM("im2col"),
    /**
     * Our implicit-GEMM kernel (native/conv2d_implicit.cu): the columns gathered into shared memory and never
     * written out; every format mix, 16-bit activations read and written in place. Forward only: the gradients run
     * as {@link #IM2COL_GEMM}.
     */
    IMPLICIT_GEMM("implicit"),
    /**
     * cuDNN (through JavaCPP's CUDA preset), forward and both gradients, with the algorithm its heuristics pick:
     * the baseline our kernels are measured against. Input, filter and output must share one format (float32, or
     * the 16-bit format of both weights and activations); other mixes, and weight gradients of 16-bit data, run as
     * {@link #IM2COL_GEMM}. Needs libcudnn*.so.9 (cuDNN 9 for CUDA 13).
     */
    CUDNN("cudnn");

    private final String cliName;

    ConvAlgorithm(String cliName) {
        this.cliName = cliName;
    }

    /** The name the CLI's {@code --conv} and {@code -Dtexforce.cuda.conv} take. */
    public String cliName() {
        return cliName;
    }

    /** The algorithm named {@code name} ({@link #cliName}, any case); throws naming the choices otherwise. */
    public static ConvAlgorithm parse(String name) {
        String n = name.trim().toLowerCase(Locale.ROOT);
        for (ConvAlgorithm a : values()) {
            if (a.cliName.equals(n)) {
                return a;
            }
        }
        throw new IllegalArgumentException("unknown convolution algorithm '" + name + "'; expected one of "
                + Arrays.stream(values()).map(ConvAlgorithm::cliName).toList());
    }
}
