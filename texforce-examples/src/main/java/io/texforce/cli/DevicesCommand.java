package io.texforce.cli;

import io.texforce.cuda.CudaBackend;
import io.texforce.cuda.CudaEmulator;
import io.texforce.cuda.CudaUnavailableException;
import jdk.incubator.vector.FloatVector;
import picocli.CommandLine.Command;

/**
 * {@code texforce devices}: what {@code --device} can name on this machine, each GPU with its driver and cuDNN (or
 * why there is none), like PyTorch's {@code collect_env}: the first thing to run on a new machine.
 */
@Command(name = "devices", mixinStandardHelpOptions = true,
        description = "List the devices --device can name here: the CPU, each GPU with its driver and cuDNN version "
                + "(or why cuDNN is missing), and the CUDA host emulator when TEXFORCE_CUDA_EMULATOR names one; "
                + "a device that is not usable says why.")
final class DevicesCommand implements Runnable {
    @Override
    public void run() {
        System.out.printf("cpu: %d cores, %d-bit vectors (Vector API)%n", Runtime.getRuntime().availableProcessors(),
                FloatVector.SPECIES_PREFERRED.vectorBitSize());
        int gpus = CudaBackend.deviceCount();
        if (gpus == 0) {
            System.out.println("cuda: not available: " + CudaBackend.unavailableReason().orElse("no GPU"));
        }
        for (int i = 0; i < gpus; i++) {
            gpu("cuda:" + i, CudaBackend.get(i));
        }
        if (CudaEmulator.configured().isPresent()) {
            try {
                gpu("cuda-emu", CudaEmulator.backend());
            } catch (CudaUnavailableException e) {
                System.out.println("cuda-emu: not available: " + e.getMessage());
            }
        }
    }

    private static void gpu(String name, CudaBackend gpu) {
        long[] memory = gpu.deviceMemory();
        String cudnn;
        try {
            cudnn = "cuDNN " + gpu.cudnnVersion();
        } catch (CudaUnavailableException e) {
            cudnn = "no cuDNN (--conv cudnn unavailable: " + e.getMessage() + ")";
        }
        System.out.printf("%s: %s, %d MiB (%d MiB free), driver %s, %s%n", name, gpu.device(), memory[1] >> 20,
                memory[0] >> 20, gpu.driverVersion(), cudnn);
    }
}
