package io.texforce.cuda;

import java.nio.file.Path;
import java.util.HashMap;
import java.util.Map;
import java.util.Optional;

/**
 * {@link CudaBackend} on the CUDA host emulator (native/emu, built by {@code native/emu/build.sh}): the same Java
 * code, kernels and GEMM calls as on a GPU, executed on the CPU with checks a GPU does not make (barrier deadlocks,
 * thread-order dependence, copies and GEMM operands outside their allocation, reads of memory nothing wrote). For
 * testing the CUDA backend without a GPU; it is far slower than {@link io.texforce.tensor.cpu.CpuBackend}. The
 * device {@code cuda-emu} resolves to {@link #backend()}. See docs/cuda-emulator.md.
 */
public final class CudaEmulator {
    private static final Map<Path, CudaBackend> BACKENDS = new HashMap<>();

    private CudaEmulator() {
    }

    /**
     * The backend on the emulator named by the system property {@code texforce.cuda.emulator} or else the
     * environment variable {@code TEXFORCE_CUDA_EMULATOR}; throws {@link CudaUnavailableException} saying how to
     * build and name one when neither is set.
     */
    public static CudaBackend backend() {
        return backend(configured().orElseThrow(() -> new CudaUnavailableException("the CUDA host emulator is not "
                + "configured: build it with native/emu/build.sh DIR and set "
                + "TEXFORCE_CUDA_EMULATOR=DIR/libtexforce-cuda-emu.so")));
    }

    /** The emulator library {@code texforce.cuda.emulator} or else {@code TEXFORCE_CUDA_EMULATOR} names, if any. */
    public static Optional<Path> configured() {
        String v = System.getProperty("texforce.cuda.emulator");
        if (v == null || v.isBlank()) v = System.getenv("TEXFORCE_CUDA_EMULATOR");
        return v == null || v.isBlank() ? Optional.empty() : Optional.of(Path.of(v));
    }

    /** The backend on the emulator library at {@code library}, one per library (created on first use). */
    public static synchronized CudaBackend backend(Path library) {
        Path key = library.toAbsolutePath().normalize();
        CudaBackend b = BACKENDS.get(key);
        if (b == null) {
            b = CudaBackend.on(Driver.loadEmulator(key));
            BACKENDS.put(key, b);
        }
        return b;
    }
}
