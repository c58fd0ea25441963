package io.texforce.cli;

import io.texforce.cuda.ConvAlgorithm;
import io.texforce.cuda.CudaBackend;
import io.texforce.cuda.CudaUnavailableException;
import io.texforce.tensor.Backend;
import io.texforce.tensor.DeviceUnavailableException;
import io.texforce.tensor.Devices;
import io.texforce.tensor.WeightDtype;
import picocli.CommandLine.Option;

/** The {@code --device} option of the commands that run models. */
final class DeviceOption {
    @Option(names = "--device", defaultValue = "cpu", paramLabel = "DEVICE",
            description = "Where models run: cpu, cuda (GPU 0), cuda:N, or cuda-emu (the CUDA code on the CUDA host "
                    + "emulator named by TEXFORCE_CUDA_EMULATOR, for testing without a GPU). "
                    + "Default: ${DEFAULT-VALUE}.")
    String device;

    @Option(names = "--tf32", description = "On a GPU, let float32 matrix products run on TF32 tensor cores (inputs "
            + "rounded to 10-bit mantissas, float32 sums; PyTorch's allow_tf32): several times faster, errors near "
            + "1e-3 relative. Ignored on the CPU.")
    boolean tf32;

    @Option(names = "--conv", defaultValue = "im2col", paramLabel = "ALGO",
            description = "On a GPU, how convolutions run: im2col (columns + cuBLAS), implicit (our implicit-GEMM "
                    + "kernel, forward only) or cudnn (cuDNN 9, forward and gradients, where data and weights share "
                    + "a format). Ignored on the CPU. Default: ${DEFAULT-VALUE}.")
    String conv;

    /** The chosen backend; an unusable device is a user error that says why. */
    Backend backend() {
        ConvAlgorithm algorithm;
        try {
            algorithm = ConvAlgorithm.parse(conv);
        } catch (IllegalArgumentException e) {
            throw new UserError("--conv: " + e.getMessage());
        }
        Backend b;
        try {
            b = Devices.resolve(device);
        } catch (DeviceUnavailableException e) {
            throw new UserError(e.getMessage());
        }
        if (b instanceof CudaBackend gpu) {
            // Every command says, so one run's choice never leaks into the next in one JVM; --activations (with
            // --dtype) then sets the activation format where a command loads models.
            gpu.setTf32(tf32);
            gpu.setActivationDtype(WeightDtype.FP32);
            try {
                gpu.setConvAlgorithm(algorithm);
            } catch (CudaUnavailableException e) {
                throw new UserError("--conv " + conv + ": " + e.getMessage());
            }
        }
        return b;
    }
}
