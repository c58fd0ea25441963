package io.texforce.cli;

import io.texforce.rewards.torch.TorchCheckpoint;
import picocli.CommandLine.Command;
import picocli.CommandLine.Parameters;

import java.nio.file.Files;
import java.nio.file.Path;

/** {@code texforce convert}: a PyTorch checkpoint as safetensors, read without running its pickle. */
@Command(name = "convert", mixinStandardHelpOptions = true,
        description = "Convert a PyTorch checkpoint (.pt/.pth/.bin, zip or legacy torch.save format) to "
                + "safetensors. Only tensors, dicts, lists and primitives are read; any other Python object is "
                + "refused. A 'state_dict' entry is used when present; F16/BF16/F32 keep their type.")
final class ConvertCommand implements Runnable {
    @Parameters(index = "0", paramLabel = "IN", description = "The .pt, .pth or .bin file.")
    Path in;

    @Parameters(index = "1", paramLabel = "OUT", description = "The .safetensors file to write (atomically).")
    Path out;

    @Override
    public void run() {
        if (!Files.isRegularFile(in)) {
            throw new UserError(in + " does not exist");
        }
        if (!out.getFileName().toString().endsWith(".safetensors")) {
            throw new UserError("output " + out + " should end in .safetensors");
        }
        try (TorchCheckpoint checkpoint = TorchCheckpoint.open(in)) {
            checkpoint.writeSafeTensors(out);
            System.err.printf("wrote %d tensors from %s to %s%n", checkpoint.tensors().size(), in, out);
        }
    }
}
