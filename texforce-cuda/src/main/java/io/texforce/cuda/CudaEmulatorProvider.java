package io.texforce.cuda;

import io.texforce.tensor.Backend;
import io.texforce.tensor.BackendProvider;

/**
 * Serves {@code "cuda-emu"}: the CUDA backend on the CUDA host emulator ({@link CudaEmulator#backend()}), for
 * running the GPU code path on a machine without a GPU, e.g. {@code texforce check-goldens --device cuda-emu}.
 */
public final class CudaEmulatorProvider implements BackendProvider {
    @Override
    public String kind() {
        return "cuda-emu";
    }

    @Override
    public Backend open(int ordinal) {
        if (ordinal != 0) {
            throw new CudaUnavailableException("the CUDA host emulator has one device, cuda-emu (or cuda-emu:0)");
        }
        return CudaEmulator.backend();
    }
}
