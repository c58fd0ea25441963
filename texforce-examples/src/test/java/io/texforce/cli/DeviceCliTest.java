package io.texforce.cli;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import io.texforce.cuda.CudaBackend;
import io.texforce.tensor.Parity;
import io.texforce.tensor.TestData;
import io.texforce.tensor.foreign.ForeignBackend;
import io.texforce.tensor.io.SafeTensors;
import io.texforce.tensor.io.SafeTensorsWriter;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;

import static io.texforce.cli.CliTest.run;
import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;
import static org.junit.jupiter.api.Assumptions.assumeTrue;

/**
 * {@code --device}: every model-running command takes it, an unusable device is a one-line user error, and the
 * commands give the CPU's results on the foreign test backend (a stand-in for a GPU, registered on the test class
 * path).
 */
class DeviceCliTest {
    @TempDir
    Path tmp;

    @Test
    void everyModelCommandHasTheOption() {
        for (String cmd : List.of("embed", "unet", "decode", "generate", "train", "evaluate", "bench")) {
            CliTest.Result r = run(cmd, "--help");
            assertEquals(0, r.code(), cmd);
            String help = r.out().replaceAll("\\s+", " ");
            assertTrue(help.contains("--device=DEVICE Where models run: cpu, cuda (GPU 0), cuda:N, or cuda-emu (the"
                            + " CUDA code on the CUDA host emulator named by TEXFORCE_CUDA_EMULATOR, for testing without"
                            + " a GPU). Default: cpu."),
                    cmd + ":\n" + r.out());
            assertTrue(help.contains("--tf32 On a GPU, let float32 matrix products run on TF32 tensor cores"),
                    cmd + ":\n" + r.out());
            assertTrue(help.contains("--conv=ALGO On a GPU, how convolutions run: im2col"), cmd + ":\n" + r.out());
        }
    }

    @Test
    void anUnusableDeviceIsAUserErrorWithTheReason() {
        CliTest.Result tpu = run("embed", "--model", TestData.tinySd1().toString(), "--device", "tpu", "--out",
                tmp.resolve("e").toString(), "x");
        assertEquals(2, tpu.code());
        assertEquals("texforce embed: device 'tpu' is not available: unknown device kind 'tpu'; known: cpu, cuda,"
                + " cuda-emu, foreign", tpu.err().strip());

        var reason = CudaBackend.unavailableReason();
        assumeTrue(reason.isPresent(), "this machine has a usable GPU");
        CliTest.Result cuda = run("generate", "--model", TestData.tinySd1().toString(), "--prompt", "a cat",
                "--device", "cuda", "--out", tmp.resolve("x.png").toString());
        assertEquals(2, cuda.code());
        assertEquals("texforce generate: device 'cuda' is not available: " + reason.get(), cuda.err().strip());
        System.out.println(cuda.err().strip());
        // The GPU session's bf16 benchmark parses and stops at the device, not at --dtype.
        CliTest.Result bench = run("bench", "unet", "--device", "cuda", "--dtype", "bf16", "--latent", "8");
        assertEquals(2, bench.code());
        assertEquals("texforce bench: device 'cuda' is not available: " + reason.get(), bench.err().strip());
    }

    @Test
    void runningOutOfDeviceMemoryIsAUserErrorWithExitStatusTwo() {
        ForeignBackend.INSTANCE.limitTensorBytes(4096);
        try {
            CliTest.Result r = run("embed", "--model", TestData.tinySd1().toString(), "--device", "foreign", "--out",
                    tmp.resolve("oom").toString(), "a cat");
            assertEquals(2, r.code(), r.out() + r.err());
            assertTrue(r.err().strip().matches("texforce embed: out of memory on foreign: a tensor of \\d+ bytes "
                    + "exceeds the limit of 4096 bytes"), r.err());
        } finally {
            ForeignBackend.INSTANCE.limitTensorBytes(Long.MAX_VALUE);
        }
    }

    @Test
    void devicesListsTheCpuTheGpusAndTheEmulatorWithItsCudnn() {
        CliTest.Result r = run("devices");
        assertEquals(0, r.code(), r.err());
        System.out.print(r.out());
        List<String> lines = r.out().lines().toList();
        assertTrue(lines.get(0).matches("cpu: \\d+ cores, \\d+-bit vectors \\(Vector API\\)"), lines.get(0));
        var reason = CudaBackend.unavailableReason();
        if (reason.isPresent()) {
            assertEquals("cuda: not available: " + reason.get(), lines.get(1));
        } else {
            assertTrue(lines.get(1).startsWith("cuda:0: "), lines.get(1));
        }
        CliTest.assumeCudaEmulator();
        assertTrue(lines.stream().anyMatch(l -> l.matches("cuda-emu: TexForce CUDA host emulator \\(sm_\\d+\\), "
                + "16384 MiB \\(\\d+ MiB free\\), driver [\\d.]+, cuDNN 9\\.19\\.0")), r.out());
    }

    @Test
    void theConvolutionAlgorithmIsCheckedByNameAndIgnoredOnTheCpu() {
        CliTest.Result bad = run("embed", "--model", TestData.tinySd1().toString(), "--conv", "fft", "--out",
                tmp.resolve("e").toString(), "x");
        assertEquals(2, bad.code());
        assertEquals("texforce embed: --conv: unknown convolution algorithm 'fft'; expected one of [im2col, implicit,"
                + " cudnn]", bad.err().strip());
        CliTest.Result cpu = run("embed", "--model", TestData.tinySd1().toString(), "--conv", "cudnn", "--out",
                tmp.resolve("e").toString(), "x");
        assertEquals(0, cpu.code(), cpu.err());
    }

    @Test
    void sixteenBitActivationsOnTheCpuAreAUserError() {
        CliTest.Result r = run("embed", "--model", TestData.tinySd1().toString(), "--activations", "bf16", "--out",
                tmp.resolve("e").toString(), "x");
        assertEquals(2, r.code());
        assertEquals("texforce embed: --activations bf16: the cpu backend keeps activations in fp32 only, not bf16",
                r.err().strip());
        CliTest.Result bad = run("embed", "--model", TestData.tinySd1().toString(), "--activations", "int8", "--out",
                tmp.resolve("e").toString(), "x");
        assertEquals(2, bad.code());
        assertTrue(bad.err().contains("--activations: unknown weight dtype 'int8'"), bad.err());
    }

    @Test
    void modelCommandsOnTheForeignBackendMatchTheCpu() throws Exception {
        Path sd = TestData.tinySd1();
        Path unetIn = tmp.resolve("unet-in.safetensors"), latents = tmp.resolve("lat.safetensors");
        try (SafeTensors g = SafeTensors.open(sd.resolve("golden/golden.safetensors"))) {
            new SafeTensorsWriter().put("sample", g.tensor("unet.in.sample"))
                    .put("timestep", g.tensor("unet.in.timestep"))
                    .put("encoder_hidden_states", g.tensor("unet.in.encoder_hidden_states")).write(unetIn);
            new SafeTensorsWriter().put("latents", g.tensor("vae.in.latents")).write(latents);
        }
        for (String device : List.of("cpu", "foreign")) {
            Path d = Files.createDirectories(tmp.resolve(device));
            List<String[]> commands = new ArrayList<>();
            commands.add(new String[]{"embed", "--model", sd.toString(), "--lora",
                    sd.resolve("lora_text_encoder.safetensors") + ":0.7", "--out", d.resolve("embed.safetensors")
                    .toString(), "a photo of a cat"});
            commands.add(new String[]{"unet", "--model", sd.toString(), "--in", unetIn.toString(), "--out",
                    d.resolve("unet.safetensors").toString(), "--lora", sd.resolve("lora_unet.safetensors").toString()});
            commands.add(new String[]{"decode", "--model", sd.toString(), "--in", latents.toString(), "--out",
                    d.resolve("decode.safetensors").toString()});
            commands.add(new String[]{"generate", "--model", sd.toString(), "--prompt", "a cat", "--steps", "3",
                    "--eta", "1", "--seed", "5", "--out", d.resolve("gen.png").toString(), "--save",
                    d.resolve("generate.safetensors").toString()});
            for (String[] c : commands) {
                String[] args = java.util.Arrays.copyOf(c, c.length + 2);
                args[c.length] = "--device";
                args[c.length + 1] = device;
                CliTest.Result r = run(args);
                assertEquals(0, r.code(), c[0] + " on " + device + ": " + r.err());
            }
        }
        for (String file : List.of("embed", "unet", "decode", "generate")) {
            var cpu = SafeTensors.loadAll(tmp.resolve("cpu").resolve(file + ".safetensors"));
            var dev = SafeTensors.loadAll(tmp.resolve("foreign").resolve(file + ".safetensors"));
            assertEquals(cpu.keySet(), dev.keySet(), file);
            for (String k : cpu.keySet()) {
                double err = Parity.maxAbsDiff(dev.get(k), cpu.get(k));
                System.out.printf("cli %s --device foreign, '%s': max abs error vs cpu %.3e%n", file, k, err);
                assertEquals(0.0, err, file + " " + k);
            }
        }
    }

    @Test
    void trainOnTheForeignBackendWritesTheCpuLora() throws Exception {
        for (String device : List.of("cpu", "foreign")) {
            CliTest.Result r = run("train", "--model", TestData.tinySd1().toString(), "--reward",
                    "jpeg-compressibility", "--prompts", "animals", "--epochs", "1", "--samples-per-epoch", "2",
                    "--batch-size", "2", "--gradient-accumulation", "1", "--steps", "3", "--eval-images", "1",
                    "--no-progress", "--device", device, "--out", tmp.resolve(device).toString());
            assertEquals(0, r.code(), device + ": " + r.err());
        }
        var cpu = SafeTensors.loadAll(tmp.resolve("cpu/lora.safetensors"));
        var dev = SafeTensors.loadAll(tmp.resolve("foreign/lora.safetensors"));
        for (String k : cpu.keySet()) {
            assertArrayEquals(cpu.get(k).toFloatArray(), dev.get(k).toFloatArray(), k);
        }
        System.out.printf("cli train --device foreign: %d LoRA tensors equal to the cpu run's%n", cpu.size());
        assertEquals(Files.readString(tmp.resolve("cpu/summary.json")), Files.readString(tmp.resolve("foreign/summary.json")));
    }

    /**
     * One epoch of joint training on tiny-sd1 with two inner epochs, so that the second AdamW step depends on the
     * gradients' magnitudes (the first moves every weight by +-lr whatever they are).
     */
    private void trainTwoSteps(String device, String dtype, Path out) {
        CliTest.Result r = run("train", "--model", TestData.tinySd1().toString(), "--reward", "jpeg-compressibility",
                "--prompts", "animals", "--epochs", "1", "--samples-per-epoch", "2", "--batch-size", "2",
                "--gradient-accumulation", "1", "--steps", "3", "--eval-images", "1", "--mode", "JOINT",
                "--inner-epochs", "2", "--no-progress", "--dtype", dtype, "--device", device, "--out", out.toString());
        assertEquals(0, r.code(), device + ": " + r.err());
    }

    /**
     * A whole TexForce run (sampling, rewards, PPO backward through U-Net and text encoder, AdamW) through the CUDA
     * backend on the CUDA host emulator: the LoRA it writes must match the CPU run's. Skipped where texforce-cuda's
     * build could not make the emulator.
     */
    @Test
    void trainOnTheCudaEmulatorWritesTheCpuLora() throws Exception {
        CliTest.assumeCudaEmulator();
        for (String device : List.of("cpu", "cuda-emu")) {
            trainTwoSteps(device, "fp32", tmp.resolve(device));
        }
        for (String file : List.of("lora.safetensors", "unet_lora.safetensors")) {
            var cpu = SafeTensors.loadAll(tmp.resolve("cpu").resolve(file));
            var dev = SafeTensors.loadAll(tmp.resolve("cuda-emu").resolve(file));
            assertEquals(cpu.keySet(), dev.keySet());
            double worst = 0, largest = 0;
            for (String k : cpu.keySet()) {
                worst = Math.max(worst, Parity.maxAbsDiff(dev.get(k), cpu.get(k)));
                for (float v : cpu.get(k).toFloatArray()) largest = Math.max(largest, Math.abs(v));
            }
            System.out.printf("cli train --device cuda-emu, %s: %d tensors, max abs error vs cpu %.3e (largest "
                    + "value %.3e)%n", file, cpu.size(), worst, largest);
            assertTrue(worst <= 1e-4 * Math.max(1, largest), file + " max error " + worst);
        }
    }

    @Test
    void trainingWithBf16ActivationsOnTheEmulatorFollowsTheFloat32Updates() throws Exception {
        CliTest.assumeCudaEmulator();
        // bf16 weights on both; the emulated GPU also keeps activations in bf16 (--activations auto), the CPU in
        // fp32. After two AdamW steps (each moves a weight by about lr = 3e-4, its direction set by the gradient's
        // sign and size), the weights that took the same path differ by far less than lr.
        for (String device : List.of("cpu", "cuda-emu")) {
            trainTwoSteps(device, "bf16", tmp.resolve("bf16-" + device));
        }
        for (String file : List.of("lora.safetensors", "unet_lora.safetensors")) {
            var cpu = SafeTensors.loadAll(tmp.resolve("bf16-cpu").resolve(file));
            var dev = SafeTensors.loadAll(tmp.resolve("bf16-cuda-emu").resolve(file));
            assertEquals(cpu.keySet(), dev.keySet());
            long close = 0, total = 0;
            for (String k : cpu.keySet()) {
                float[] c = cpu.get(k).toFloatArray(), d = dev.get(k).toFloatArray();
                for (int i = 0; i < c.length; i++) {
                    assertTrue(Float.isFinite(d[i]), file + " " + k + "[" + i + "] = " + d[i]);
                    close += Math.abs(d[i] - c[i]) < 1.5e-4 ? 1 : 0;
                }
                total += c.length;
            }
            double share = (double) close / total;
            System.out.printf("cli train --dtype bf16, cuda-emu (bf16 activations) vs cpu (fp32 activations), %s: "
                    + "%.2f%% of %d weights within lr/2%n", file, 100 * share, total);
            assertTrue(share >= 0.95, file + ": only " + share + " of the weights followed the float32 updates");
        }
    }

    @Test
    void benchmarksRunOnAnyDevice() throws Exception {
        ObjectMapper json = new ObjectMapper();
        String tiny = TestData.tinySd1().toString();
        CliTest.Result unet = run("bench", "unet", "--config", tiny, "--latent", "8", "--batch", "1", "--warmup", "0",
                "--iterations", "1", "--device", "foreign");
        assertEquals(0, unet.code(), unet.err());
        JsonNode u = json.readTree(unet.out());
        assertEquals("foreign", u.get("device").asText());
        assertTrue(u.get("forward_it_per_s").asDouble() > 0, unet.out());

        // The loaded tiny pipeline, then random weights of its configs with its tokenizer.
        for (List<String> source : List.of(List.of("--model", tiny),
                List.of("--config", tiny, "--tokenizer", TestData.tinySd1().resolve("tokenizer").toString()))) {
            List<String> args = new ArrayList<>(List.of("bench", "train-step", "--resolution", "32", "--steps", "4",
                    "--trained-steps", "2", "--batch", "2", "--warmup", "0", "--iterations", "1", "--device", "foreign"));
            args.addAll(source);
            CliTest.Result r = run(args.toArray(String[]::new));
            assertEquals(0, r.code(), r.err());
            JsonNode t = json.readTree(r.out());
            System.out.println("bench train-step " + source.get(0) + ": " + r.out().strip());
            assertEquals(2, t.get("trained_steps").asInt());
            assertTrue(t.get("samples_per_s").asDouble() > 0, r.out());
        }
        CliTest.Result bad = run("bench", "train-step", "--model", tiny, "--steps", "4", "--trained-steps", "5");
        assertEquals(2, bad.code());
        assertTrue(bad.err().contains("--trained-steps must be between 1 and --steps (4), got 5"), bad.err());
    }
}
