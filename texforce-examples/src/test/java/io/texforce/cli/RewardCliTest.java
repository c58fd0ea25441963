package io.texforce.cli;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import io.texforce.rewards.Reward;
import io.texforce.rewards.RewardFactory;
import io.texforce.rewards.RewardOptions;
import io.texforce.tensor.Backend;
import io.texforce.tensor.Devices;
import io.texforce.tensor.Tensor;
import io.texforce.tensor.TestData;
import io.texforce.tensor.WeightDtype;
import io.texforce.tensor.cpu.CpuBackend;
import io.texforce.tensor.foreign.ForeignBackend;
import io.texforce.tensor.io.DType;
import io.texforce.tensor.io.Images;
import io.texforce.tensor.io.SafeTensors;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

import java.io.IOException;
import java.nio.file.Path;
import java.util.List;

import static io.texforce.cli.CliTest.run;
import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

/** {@code texforce score} and {@code texforce convert} on the tiny-clip fixture. */
class RewardCliTest {
    private static final Path CLIP = TestData.tinyClip();

    @TempDir
    Path tmp;

    /** Writes the golden raw image {@code images.<name>} as a PNG. */
    private Path png(String name) {
        try (SafeTensors g = SafeTensors.open(CLIP.resolve("golden/golden.safetensors"))) {
            String key = "images." + name;
            int[] s = g.info(key).shape();
            byte[] px = g.bytes(key);
            int h = s[0], w = s[1];
            float[] d = new float[3 * h * w];
            for (int c = 0; c < 3; c++) {
                for (int i = 0; i < h * w; i++) {
                    d[c * h * w + i] = (px[i * 3 + c] & 0xFF) / 255f;
                }
            }
            Path file = tmp.resolve(name + ".png");
            Images.writePng(Tensor.of(d, 3, h, w), file);
            return file;
        }
    }

    private static float[] golden(String key) {
        try (SafeTensors g = SafeTensors.open(CLIP.resolve("golden/golden.safetensors"))) {
            return g.floats(key);
        }
    }

    @Test
    void scorePrintsOneJsonLinePerImageMatchingTheGolden() throws IOException {
        Path a = png("raw_0"), b = png("raw_1");
        CliTest.Result r = run("score", "--reward", "aesthetic", "--reward-model", CLIP.resolve("hf").toString(),
                "--aesthetic-head", CLIP.resolve("aesthetic_mlp_fp16_legacy.pth").toString(),
                "--image", a.toString(), b.toString());
        assertEquals(0, r.code(), r.err());
        String[] lines = r.out().strip().split("\n");
        assertEquals(2, lines.length, r.out());
        float[] expected = golden("aesthetic.score");
        double max = 0;
        for (int i = 0; i < 2; i++) {
            JsonNode line = new ObjectMapper().readTree(lines[i]);
            assertEquals((i == 0 ? a : b).toString(), line.get("image").asText());
            max = Math.max(max, Math.abs(line.get("score").asDouble() - expected[i]));
        }
        // The head here is the F16 legacy pickle: its rounded weights move the score by about 1e-4.
        System.out.printf("cli score aesthetic (fp16 head) max abs error %.3e%n", max);
        assertTrue(max < 2e-3, "max abs error " + max);
    }

    @Test
    void rewardModelsRunOnTheChosenDeviceWithTheCpusScores() throws IOException {
        Path a = png("raw_0"), b = png("raw_1");
        for (String[] reward : rewardOptions("aesthetic_mlp_fp16_legacy.pth")) {
            String[] images = {"--image", a.toString(), b.toString()};
            CliTest.Result cpu = run(concat(concat(new String[]{"score"}, reward), images));
            long uploads = ForeignBackend.INSTANCE.hostWrites();
            CliTest.Result foreign = run(concat(concat(new String[]{"score", "--device", "foreign"}, reward), images));
            assertEquals(0, cpu.code(), cpu.err());
            assertEquals(0, foreign.code(), foreign.err());
            // The tiny CLIP's weights (about 90 tensors) were uploaded, not just the two images' pixels.
            long uploaded = ForeignBackend.INSTANCE.hostWrites() - uploads;
            assertTrue(uploaded > 20, "tensors uploaded to the device: " + uploaded);
            // The stand-in device runs the CPU's kernels, so a model that really runs there scores identically.
            assertEquals(cpu.out(), foreign.out(), reward[1]);
        }
    }

    /** The CLIP towers and the aesthetic head through the CUDA backend on the CUDA host emulator. */
    @Test
    void rewardModelsOnTheCudaEmulatorGiveTheCpusScores() throws IOException {
        CliTest.assumeCudaEmulator();
        Path a = png("raw_0"), b = png("raw_1");
        for (String[] reward : rewardOptions("aesthetic_mlp.safetensors")) {
            String[] images = {"--image", a.toString(), b.toString()};
            CliTest.Result cpu = run(concat(concat(new String[]{"score"}, reward), images));
            CliTest.Result emu = run(concat(concat(new String[]{"score", "--device", "cuda-emu"}, reward), images));
            assertEquals(0, cpu.code(), cpu.err());
            assertEquals(0, emu.code(), emu.err());
            String[] c = cpu.out().strip().split("\n"), e = emu.out().strip().split("\n");
            assertEquals(c.length, e.length);
            double max = 0;
            for (int i = 0; i < c.length; i++) {
                max = Math.max(max, Math.abs(new ObjectMapper().readTree(c[i]).get("score").asDouble()
                        - new ObjectMapper().readTree(e[i]).get("score").asDouble()));
            }
            System.out.printf("cli score %s --device cuda-emu: max abs error vs cpu %.3e%n", reward[1], max);
            assertTrue(max < 1e-4, reward[1] + " max abs error " + max);
        }
    }

    /**
     * Reward models compute in float32 even on a GPU whose activation format is bf16 for the diffusion models (the
     * trainer's reward thread, evaluate): the scores match the CPU's as closely as in float32.
     */
    @Test
    void rewardModelsScoreInFloat32WhateverTheDevicesActivationFormat() throws Exception {
        CliTest.assumeCudaEmulator();
        Backend emu = Devices.resolve("cuda-emu");
        // The two fixture images differ in size: one batch each.
        List<Tensor> images = List.of(Images.load(List.of(png("raw_0"))), Images.load(List.of(png("raw_1"))));
        List<String> prompts = List.of("a photo of a cat");
        for (String name : List.of("aesthetic", "clip-score")) {
            RewardOptions cpuOptions = new RewardOptions(CLIP.resolve("hf"), CLIP.resolve("aesthetic_mlp.safetensors"),
                    null, null, CpuBackend.INSTANCE);
            RewardOptions emuOptions = new RewardOptions(CLIP.resolve("hf"), CLIP.resolve("aesthetic_mlp.safetensors"),
                    null, null, emu);
            float[] cpu = new float[images.size()], dev = new float[images.size()];
            try (Reward r = new RewardFactory(cpuOptions).create(name)) {
                for (int i = 0; i < images.size(); i++) {
                    cpu[i] = r.score(images.get(i), prompts)[0];
                }
            }
            emu.setActivationDtype(WeightDtype.BF16);
            try (Reward r = new RewardFactory(emuOptions).create(name)) {
                for (int i = 0; i < images.size(); i++) {
                    dev[i] = r.score(images.get(i), prompts)[0];
                }
                assertEquals(WeightDtype.BF16, emu.activationDtype(), "the device's format is left as it was");
            } finally {
                emu.setActivationDtype(WeightDtype.FP32);
            }
            double max = 0;
            for (int i = 0; i < cpu.length; i++) {
                max = Math.max(max, Math.abs(cpu[i] - dev[i]));
            }
            System.out.printf("%s on cuda-emu with bf16 device activations: max abs error vs cpu %.3e%n", name, max);
            assertTrue(max < 1e-4, name + " max abs error " + max);
        }
    }

    /** The options of the aesthetic reward (with the tiny-clip head file {@code head}) and of the CLIP score. */
    private static String[][] rewardOptions(String head) {
        return new String[][]{
                {"--reward", "aesthetic", "--reward-model", CLIP.resolve("hf").toString(), "--aesthetic-head",
                        CLIP.resolve(head).toString()},
                {"--reward", "clip-score", "--reward-model", CLIP.resolve("hf").toString(), "--prompt",
                        "a photo of a cat"}};
    }

    private static String[] concat(String[] x, String... y) {
        String[] r = java.util.Arrays.copyOf(x, x.length + y.length);
        System.arraycopy(y, 0, r, x.length, y.length);
        return r;
    }

    @Test
    void scoreClipScoreUsesThePrompts() throws IOException {
        Path a = png("raw_0");
        CliTest.Result r = run("score", "--reward", "clip-score", "--reward-model", CLIP.resolve("hf").toString(),
                "--image", a.toString(), a.toString(), "--prompt", "a photo of a cat", "A green colored rabbit.");
        assertEquals(0, r.code(), r.err());
        String[] lines = r.out().strip().split("\n");
        float[] cos = golden("cosine.image0_vs_texts");
        assertEquals(cos[0], new ObjectMapper().readTree(lines[0]).get("score").asDouble(), 1e-4);
        assertEquals(cos[2], new ObjectMapper().readTree(lines[1]).get("score").asDouble(), 1e-4);
    }

    @Test
    void scoreReportsBadOptionsWithoutStackTraces() {
        String image = png("raw_square").toString();
        CliTest.Result unknown = run("score", "--reward", "imagereward", "--image", image);
        assertEquals(2, unknown.code());
        assertTrue(unknown.err().contains("unknown reward 'imagereward'") && !unknown.err().contains("\tat "),
                unknown.err());
        CliTest.Result noHead = run("score", "--reward", "aesthetic", "--reward-model", CLIP.resolve("hf").toString(),
                "--image", image);
        assertEquals(2, noHead.code());
        assertTrue(noHead.err().contains("--aesthetic-head"), noHead.err());
        CliTest.Result prompts = run("score", "--reward", "jpeg-compressibility", "--image", image, image,
                "--prompt", "a", "b", "c");
        assertEquals(2, prompts.code());
        assertTrue(prompts.err().contains("2 images but 3 prompts"), prompts.err());
        CliTest.Result weight = run("score", "--reward", "weighted", "--reward-weight", "aesthetic", "--image", image);
        assertEquals(2, weight.code());
        assertTrue(weight.err().contains("NAME=WEIGHT"), weight.err());
    }

    @Test
    void convertWritesSafetensorsAndRefusesForbiddenPickles() {
        Path out = tmp.resolve("head.safetensors");
        CliTest.Result r = run("convert", CLIP.resolve("aesthetic_mlp_fp16_legacy.pth").toString(), out.toString());
        assertEquals(0, r.code(), r.err());
        assertTrue(r.err().contains("wrote 10 tensors"), r.err());
        try (SafeTensors got = SafeTensors.open(out);
             SafeTensors ref = SafeTensors.open(CLIP.resolve("aesthetic_mlp.safetensors"))) {
            assertEquals(ref.keys(), got.keys());
            assertEquals(DType.F16, got.info("layers.0.weight").dtype());
            assertArrayEquals(ref.info("layers.2.weight").shape(), got.info("layers.2.weight").shape());
        }
        CliTest.Result bad = run("convert", CLIP.resolve("forbidden_global.pth").toString(),
                tmp.resolve("x.safetensors").toString());
        assertEquals(2, bad.code());
        assertTrue(bad.err().contains("'posix.system'") && !bad.err().contains("\tat "), bad.err());
        assertTrue(!tmp.resolve("x.safetensors").toFile().exists());
    }
}
