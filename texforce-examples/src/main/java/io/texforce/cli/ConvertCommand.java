package io.texforce.cli;

import io.texforce.tensor.io.torch.TorchCheckpoint;
import io.texforce.tensor.nn.SafeTensorsSource;
import io.texforce.tensor.nn.WeightSource;
import io.texforce.unet.singlefile.SingleFileConverter;
import picocli.CommandLine.Command;
import picocli.CommandLine.Option;
import picocli.CommandLine.Parameters;

import java.nio.file.Files;
import java.nio.file.Path;

/**
 * {@code texforce convert}: a PyTorch checkpoint as safetensors, read without running its pickle; or, with
 * {@code --to-diffusers}, an original single-file SD 1.x / 2.x checkpoint as a diffusers pipeline folder.
 */
@Command(name = "convert", mixinStandardHelpOptions = true,
        description = {"Convert a PyTorch checkpoint (.pt/.pth/.bin/.ckpt, zip or legacy torch.save format) to "
                + "safetensors. Only tensors, dicts, lists and primitives are read; any other Python object is "
                + "refused. A 'state_dict' entry is used when present; F16/BF16/F32 keep their type.",
                "With --to-diffusers: turn an original single-file Stable Diffusion 1.x / 2.x checkpoint (CompVis/A1111"
                        + " layout, .safetensors or .ckpt, e.g. v1-5-pruned-emaonly.safetensors or a community fine-tune)"
                        + " into a diffusers pipeline folder OUT that --model takes, as diffusers' from_single_file."})
final class ConvertCommand implements Runnable {
    @Parameters(index = "0", paramLabel = "IN", description = "The .pt/.pth/.bin/.ckpt file (with --to-diffusers: the"
            + " single-file checkpoint, .safetensors or .ckpt).")
    Path in;

    @Parameters(index = "1", paramLabel = "OUT", description = "The .safetensors file to write (atomically); with"
            + " --to-diffusers the pipeline folder to create (it must not exist).")
    Path out;

    @Option(names = "--to-diffusers", description = "IN is a single-file SD 1.x / 2.x checkpoint; write a diffusers"
            + " folder. SD 1.x gets SD 1.5's configs, SD 2.x SD 2.1's (v-prediction, 768 px) unless told otherwise.")
    boolean toDiffusers;

    @Option(names = "--config-from", paramLabel = "DIR", description = "With --to-diffusers: a diffusers pipeline"
            + " folder whose configs (unet/, vae/, text_encoder/, scheduler/, tokenizer/) fit the checkpoint; what it"
            + " lacks comes from the bundled SD 1.5 / 2.1 configs.")
    Path configFrom;

    @Option(names = "--prediction-type", paramLabel = "TYPE", description = "With --to-diffusers: epsilon,"
            + " v_prediction or sample (SD 2.x 'base' 512 px models are epsilon).")
    String predictionType;

    @Option(names = "--image-size", paramLabel = "PX", defaultValue = "0", description = "With --to-diffusers: the"
            + " model's default image side in pixels (512 for SD 1.x and SD 2.x base, 768 for SD 2.x).")
    int imageSize;

    @Option(names = "--ema", description = "With --to-diffusers: take the U-Net's EMA weights (model_ema.*).")
    boolean ema;

    @Override
    public void run() {
        if (!Files.isRegularFile(in)) {
            throw new UserError(in + " does not exist");
        }
        if (toDiffusers) {
            toDiffusers();
            return;
        }
        if (configFrom != null || predictionType != null || imageSize != 0 || ema) {
            throw new UserError("--config-from, --prediction-type, --image-size and --ema go with --to-diffusers");
        }
        if (!out.getFileName().toString().endsWith(".safetensors")) {
            throw new UserError("output " + out + " should end in .safetensors");
        }
        try (TorchCheckpoint checkpoint = TorchCheckpoint.open(in)) {
            checkpoint.writeSafeTensors(out);
            System.err.printf("wrote %d tensors from %s to %s%n", checkpoint.tensors().size(), in, out);
        }
    }

    private void toDiffusers() {
        if (configFrom != null && !Files.isDirectory(configFrom)) {
            throw new UserError("--config-from " + configFrom + " is not a folder");
        }
        var options = new SingleFileConverter.Options(configFrom, predictionType, imageSize, ema);
        boolean safetensors = in.getFileName().toString().endsWith(".safetensors");
        SingleFileConverter.Result r;
        try (AutoCloseable file = safetensors ? SafeTensorsSource.open(in) : TorchCheckpoint.open(in)) {
            r = SingleFileConverter.convert((WeightSource) file, out, options);
        } catch (RuntimeException e) {
            throw e;
        } catch (Exception e) {
            throw new UserError("cannot read " + in + ": " + e.getMessage());
        }
        System.err.printf("%s checkpoint %s -> %s: %d U-Net, %d VAE, %d text-encoder tensors (%d other keys left out)%n",
                r.family().label(), in, out, r.unetTensors(), r.vaeTensors(), r.textEncoderTensors(), r.ignoredKeys());
    }
}
