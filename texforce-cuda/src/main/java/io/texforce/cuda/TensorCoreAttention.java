package io.texforce.cuda;

import io.texforce.tensor.WeightDtype;

/**
 * Launch geometry of the tensor-core attention ({@code attention_forward_tc_bf16/fp16} and
 * {@code attention_backward_tc_bf16/fp16} in native/attention_tc.cu), the kernels of the reduced-precision mode,
 * and the rules that pick them. The forward's blocks of {@value #THREADS} threads (4 warps of 16 query rows) own
 * {@value #ROWS} queries each and stream keys {@value #KEYS} at a time; the backward's own {@value #KEYS} keys each
 * and stream queries {@value #BACKWARD_ROWS} at a time. Head dims are zero-padded to multiples of 16 in shared
 * memory, up to {@value #MAX_DIM}. The sizes here mirror the kernels' constants and their
 * {@code attention_tc_smem_bytes} and {@code attention_tc_backward_smem_bytes}.
 */
final class TensorCoreAttention {
    static final int THREADS = 128;
    static final int ROWS = 64;
    static final int KEYS = 64;
    static final int MAX_DIM = 128;
    /** Query rows per tile of the backward (TCB_ROWS). */
    static final int BACKWARD_ROWS = 32;

    /** The backward's {@code format} argument: how it rounds q, k, v (native/attention.cu, TF_ROUND_*). */
    static final int ROUND_NONE = 0, ROUND_BF16 = 1, ROUND_FP16 = 2;

    private TensorCoreAttention() {
    }

    /** A head dim rounded up to the 16 of a WMMA fragment. */
    static int padded(int dim) {
        return Math.ceilDiv(dim, 16) * 16;
    }

    /**
     * Dynamic shared memory of one block: float32 scores [ROWS][KEYS + 4], output [ROWS][dvp + 4] and three row
     * statistics; 16-bit q [ROWS][dp + 8], k [KEYS][dp + 8], v [KEYS][dvp + 8] and probabilities [ROWS][KEYS + 8].
     */
    static int sharedBytes(int d, int dv) {
        int dp = padded(d), dvp = padded(dv);
        return 4 * (ROWS * (KEYS + 4) + ROWS * (dvp + 4) + 3 * ROWS)
                + 2 * (ROWS * (dp + 8) + KEYS * (dp + 8) + KEYS * (dvp + 8) + ROWS * (KEYS + 8));
    }

    /**
     * Dynamic shared memory of one backward block: float32 dK [KEYS][dp + 4], dV [KEYS][dvp + 4], S and dP
     * [BACKWARD_ROWS][KEYS + 4] each (their space then holds the tile's dQ) and two row statistics; 16-bit k
     * [KEYS][dp + 8], v [KEYS][dvp + 8], q [BACKWARD_ROWS][dp + 8], dO [BACKWARD_ROWS][dvp + 8], P and dS
     * [BACKWARD_ROWS][KEYS + 8] each.
     */
    static int backwardSharedBytes(int d, int dv) {
        int dp = padded(d), dvp = padded(dv);
        return 4 * (KEYS * (dp + 4) + KEYS * (dvp + 4) + 2 * BACKWARD_ROWS * (KEYS + 4) + 2 * BACKWARD_ROWS)
                + 2 * (KEYS * (dp + 8) + KEYS * (dvp + 8) + BACKWARD_ROWS * (dp + 8) + BACKWARD_ROWS * (dvp + 8)
                + 2 * BACKWARD_ROWS * (KEYS + 8));
    }

    /** Blocks along the grid's x axis for {@code nq} queries (the y axis counts batch x heads). */
    static int blocks(int nq) {
        return Math.ceilDiv(nq, ROWS);
    }

    /**
     * Whether a GPU of {@code computeCapability} (e.g. 75, 90) has WMMA for {@code precision}: fp16 from sm_70, bf16
     * from sm_80.
     */
    static boolean supported(WeightDtype precision, int computeCapability) {
        return switch (precision) {
            case BF16 -> computeCapability >= 80;
            case FP16 -> computeCapability >= 70;
            case FP32 -> false;
        };
    }

    /**
     * Whether attention in {@code precision} with head dims d, dv runs on tensor cores of a GPU of
     * {@code computeCapability} with {@code sharedOptIn} bytes of shared memory per block: in bf16 or fp16 where the
     * GPU has WMMA for it ({@link #supported}), for head dims up to {@value #MAX_DIM} whose shared memory fits.
     * Otherwise the exact float32 kernel runs (SD's d = 160 heads, every fp32 model, bf16 before sm_80).
     */
    static boolean applies(WeightDtype precision, int d, int dv, int computeCapability, int sharedOptIn) {
        return supported(precision, computeCapability) && d <= MAX_DIM && dv <= MAX_DIM
                && sharedBytes(d, dv) <= sharedOptIn;
    }

    /** Backward blocks along the grid's x axis for {@code nk} keys. */
    static int backwardBlocks(int nk) {
        return Math.ceilDiv(nk, KEYS);
    }

    /**
     * Whether the backward of attention in {@code precision} runs on tensor cores: when the forward did
     * ({@link #applies}) and the backward's larger shared memory fits too. Otherwise the float32 kernel runs, rounding
     * as {@link #backwardRounding} says.
     */
    static boolean backwardApplies(WeightDtype precision, int d, int dv, int computeCapability, int sharedOptIn) {
        return applies(precision, d, dv, computeCapability, sharedOptIn) && backwardSharedBytes(d, dv) <= sharedOptIn;
    }

    /** The forward kernel for a 16-bit precision. */
    static String kernel(WeightDtype precision) {
        return CudaBackend.halfKernel("attention_forward_tc", precision);
    }

    /** The backward kernel for a 16-bit precision. */
    static String backwardKernel(WeightDtype precision) {
        return CudaBackend.halfKernel("attention_backward_tc", precision);
    }

    /**
     * The float32 backward's (and attention_delta's) rounding of q, k, v and the incoming gradient that matches the
     * forward chosen by {@link #applies}.
     */
    static int backwardRounding(WeightDtype precision, int d, int dv, int computeCapability, int sharedOptIn) {
        if (!applies(precision, d, dv, computeCapability, sharedOptIn)) {
            return ROUND_NONE;
        }
        return precision == WeightDtype.BF16 ? ROUND_BF16 : ROUND_FP16;
    }
}
