package io.texforce.cli;

import io.texforce.tensor.Backend;
import io.texforce.tensor.DeviceUnavailableException;
import io.texforce.tensor.Devices;
import picocli.CommandLine.Option;

/** The {@code --device} option of the commands that run models. */
final class DeviceOption {
    @Option(names = "--device", defaultValue = "cpu", paramLabel = "DEVICE",
            description = "Where models run: cpu, cuda (GPU 0), cuda:N, or cuda-emu (the CUDA code on the CUDA host "
                    + "emulator named by TEXFORCE_CUDA_EMULATOR, for testing without a GPU). Default: ${DEFAULT-VALUE}.")
    String device;

    /** The chosen backend; an unusable device is a user error that says why. */
    Backend backend() {
        try {
            return Devices.resolve(device);
        } catch (DeviceUnavailableException e) {
            throw new UserError(e.getMessage());
        }
    }
}
