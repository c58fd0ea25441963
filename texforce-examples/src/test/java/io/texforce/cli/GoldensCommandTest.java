package io.texforce.cli;

import io.texforce.tensor.Tensor;
import io.texforce.tensor.TestData;
import io.texforce.tensor.io.SafeTensors;
import io.texforce.tensor.io.SafeTensorsWriter;
import io.texforce.tensor.io.TensorInfo;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

/** {@code check-goldens}: the fixture's reference outputs recomputed by the CLI, on the CPU and on a stand-in device. */
class GoldensCommandTest {
    @TempDir
    Path tmp;

    @Test
    void everyGoldenPassesOnTheCpuAndOnTheStandInDevice() {
        for (String device : new String[]{"cpu", "foreign"}) {
            CliTest.Result r = CliTest.run("check-goldens", "--model", TestData.tinySd1().toString(), "--device", device);
            System.out.print(r.out());
            assertEquals(0, r.code(), r.out() + r.err());
            assertEquals(9, r.out().lines().filter(l -> l.endsWith(" ok")).count(), r.out());
            assertTrue(r.out().contains("all goldens within tolerance"), r.out());
        }
    }

    /**
     * The GPU code path (CudaBackend's Java side, the kernels of native/ and the GEMM calls) on the CUDA host
     * emulator, fp32 and with bf16/fp16 weights, which on a GPU bring activations of their format (--activations
     * auto); skipped where texforce-cuda's build could not make the emulator.
     */
    @Test
    void everyGoldenPassesOnTheCudaEmulator() {
        CliTest.assumeCudaEmulator();
        for (String dtype : new String[]{"fp32", "bf16", "fp16"}) {
            CliTest.Result r = CliTest.run("check-goldens", "--model", TestData.tinySd1().toString(), "--device",
                    "cuda-emu", "--dtype", dtype);
            System.out.print(r.out());
            assertEquals(0, r.code(), r.out() + r.err());
            assertTrue(r.out().contains("weights " + dtype + ", activations " + dtype), r.out());
            assertTrue(r.out().contains("all goldens within tolerance"), r.out());
        }
    }

    /**
     * The same goldens with the convolutions on cuDNN (JavaCPP's bindings on the emulator's emulated cuDNN): float32,
     * and bf16, where weights and activations share the format cuDNN then computes in.
     */
    @Test
    void everyGoldenPassesWithConvolutionsOnCudnn() {
        CliTest.assumeCudaEmulator();
        for (String dtype : new String[]{"fp32", "bf16"}) {
            CliTest.Result r = CliTest.run("check-goldens", "--model", TestData.tinySd1().toString(), "--device",
                    "cuda-emu", "--dtype", dtype, "--conv", "cudnn");
            System.out.print(r.out());
            assertEquals(0, r.code(), r.out() + r.err());
            assertTrue(r.out().contains("activations " + dtype + ", convolutions cudnn"), r.out());
            assertTrue(r.out().contains("all goldens within tolerance"), r.out());
        }
    }

    @Test
    void aWrongGoldenFailsWithExitStatusOneAndNamesIt() throws IOException {
        Path model = tmp.resolve("tiny");
        Files.createDirectories(model.resolve("golden"));
        try (var files = Files.list(TestData.tinySd1())) {
            for (Path p : files.toList()) {
                if (!p.getFileName().toString().equals("golden")) {
                    Files.createSymbolicLink(model.resolve(p.getFileName()), p.toAbsolutePath());
                }
            }
        }
        var writer = new SafeTensorsWriter();
        try (SafeTensors golden = SafeTensors.open(TestData.tinySd1().resolve("golden/golden.safetensors"))) {
            for (String k : golden.keys()) {
                TensorInfo info = golden.info(k);
                if (info.dtype().isFloatingPoint()) {
                    Tensor v = golden.tensor(k);
                    writer.put(k, k.equals("vae.out.decoded") ? v.add(0.01f) : v);
                } else {
                    writer.putInts(k, golden.ints(k), info.shape(), info.dtype());
                }
            }
        }
        writer.write(model.resolve("golden/golden.safetensors"));
        CliTest.Result r = CliTest.run("check-goldens", "--model", model.toString());
        assertEquals(1, r.code(), r.out() + r.err());
        assertTrue(r.out().lines().anyMatch(l -> l.startsWith("vae.out.decoded") && l.endsWith("FAIL")), r.out());
        assertTrue(r.out().contains("1 golden(s) FAILED"), r.out());
    }

    @Test
    void aFolderWithoutGoldensIsAUserError() {
        CliTest.Result r = CliTest.run("check-goldens", "--model", tmp.toString());
        assertEquals(2, r.code());
        assertTrue(r.err().contains("golden/golden.safetensors"), r.err());
    }
}
