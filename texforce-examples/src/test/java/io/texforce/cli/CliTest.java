package io.texforce.cli;

import io.texforce.tensor.Tensor;
import io.texforce.tensor.Parity;
import io.texforce.tensor.TestData;
import io.texforce.tensor.io.SafeTensors;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

import java.io.ByteArrayOutputStream;
import java.io.PrintStream;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;
import static org.junit.jupiter.api.Assumptions.assumeTrue;

/** The CLI's public contract: output formats, goldens, exit codes and error messages. */
class CliTest {
    @TempDir
    Path tmp;

    record Result(int code, String out, String err) {
    }

    /**
     * Skips the calling test unless texforce-cuda's build made the CUDA host emulator that {@code --device cuda-emu}
     * uses (the surefire configuration names it in {@code texforce.cuda.emulator}).
     */
    static void assumeCudaEmulator() {
        String lib = System.getProperty("texforce.cuda.emulator", "");
        assumeTrue(!lib.isEmpty() && Files.isRegularFile(Path.of(lib)), "CUDA emulator not built: " + lib);
    }

    static Result run(String... args) {
        PrintStream oldOut = System.out, oldErr = System.err;
        ByteArrayOutputStream out = new ByteArrayOutputStream(), err = new ByteArrayOutputStream();
        System.setOut(new PrintStream(out, true, StandardCharsets.UTF_8));
        System.setErr(new PrintStream(err, true, StandardCharsets.UTF_8));
        try {
            int code = Main.run(args);
            return new Result(code, out.toString(StandardCharsets.UTF_8), err.toString(StandardCharsets.UTF_8));
        } finally {
            System.setOut(oldOut);
            System.setErr(oldErr);
        }
    }

    @Test
    void tokenizePrintsTheGoldenIds() {
        String model = TestData.tinySd1().toString();
        Result r = run("tokenize", "--model", model, "A green colored rabbit.", "Four wolves in the park");
        assertEquals(0, r.code(), r.err());
        String[] lines = r.out().strip().split("\n");
        assertEquals(2, lines.length);
        try (SafeTensors g = SafeTensors.open(TestData.tinySd1().resolve("golden/golden.safetensors"))) {
            int[] ids = g.ints("tokens.input_ids");
            for (int row = 0; row < 2; row++) {
                String[] parts = lines[row].trim().split(" ");
                assertEquals(77, parts.length);
                for (int i = 0; i < 77; i++) {
                    assertEquals(ids[(row + 1) * 77 + i], Integer.parseInt(parts[i]), "row " + row + " position " + i);
                }
            }
        }
    }

    @Test
    void embedWithBlendedLorasMatchesTheGolden() {
        Path out = tmp.resolve("emb.safetensors");
        Path sd = TestData.tinySd1();
        Result r = run("embed", "--model", sd.toString(),
                "--lora", sd.resolve("lora_text_encoder.safetensors") + ":0.7",
                "--lora", sd.resolve("lora_text_encoder_2.safetensors") + ":0.3",
                "--out", out.toString(), "a photo of a cat", "A green colored rabbit.", "Four wolves in the park");
        assertEquals(0, r.code(), r.err());
        try (SafeTensors got = SafeTensors.open(out);
             SafeTensors g = SafeTensors.open(sd.resolve("golden/golden.safetensors"))) {
            assertEquals(io.texforce.tensor.io.DType.F32, got.info("embeddings").dtype());
            float[] a = got.floats("embeddings"), b = g.floats("lora.blend_0.7_0.3");
            assertArrayEquals(new int[]{3, 77, 32}, got.info("embeddings").shape());
            double max = 0;
            for (int i = 0; i < a.length; i++) {
                max = Math.max(max, Math.abs(a[i] - b[i]));
            }
            System.out.printf("cli embed blend max abs error %.3e%n", max);
            assertTrue(max < 1e-4, "max abs error " + max);
        }
    }

    @Test
    void fusedPipelineReproducesTheLoraGoldensWithoutLoraFiles() {
        Path sd = TestData.tinySd1();
        Path fused = tmp.resolve("fused");
        Result r = run("fuse", "--model", sd.toString(), "--out", fused.toString(),
                "--text-lora", sd.resolve("lora_text_encoder.safetensors") + ":0.7",
                "--text-lora", sd.resolve("lora_text_encoder_2.safetensors") + ":0.3",
                "--unet-lora", sd.resolve("lora_unet.safetensors") + ":1.0", "--save-dtype", "fp32");
        assertEquals(0, r.code(), r.err());
        Path emb = tmp.resolve("emb.safetensors");
        assertEquals(0, run("embed", "--model", fused.toString(), "--out", emb.toString(), "a photo of a cat",
                "A green colored rabbit.", "Four wolves in the park").code());
        Path in = tmp.resolve("in.safetensors"), out = tmp.resolve("out.safetensors");
        try (SafeTensors g = SafeTensors.open(sd.resolve("golden/golden.safetensors"))) {
            try (SafeTensors got = SafeTensors.open(emb)) {
                double err = maxAbs(got.floats("embeddings"), g.floats("lora.blend_0.7_0.3"));
                System.out.printf("fused text encoder (blend 0.7/0.3) max abs error %.3e%n", err);
                assertTrue(err < 1e-4, "max abs error " + err);
            }
            writeUnetInput(g, in);
            assertEquals(0, run("unet", "--model", fused.toString(), "--in", in.toString(), "--out", out.toString())
                    .code());
            try (SafeTensors got = SafeTensors.open(out)) {
                double err = maxAbs(got.floats("sample"), g.floats("lora.unet.out.sample"));
                System.out.printf("fused U-Net max abs error %.3e%n", err);
                assertTrue(err < 1e-4, "max abs error " + err);
            }
        }
        Result again = run("fuse", "--model", sd.toString(), "--out", fused.toString(),
                "--text-lora", sd.resolve("lora_text_encoder.safetensors").toString());
        assertEquals(2, again.code());
        assertTrue(again.err().contains("exists already"), again.err());
        // The same fusion as one original-layout file, converted back: the same text-encoder output.
        Path single = tmp.resolve("fused.safetensors");
        assertEquals(0, run("fuse", "--model", sd.toString(), "--single-file", single.toString(), "--text-lora",
                sd.resolve("lora_text_encoder.safetensors") + ":0.7", "--text-lora",
                sd.resolve("lora_text_encoder_2.safetensors") + ":0.3").code());
        Path back = tmp.resolve("back");
        Result convert = run("convert", "--to-diffusers", single.toString(), back.toString(), "--config-from", sd.toString());
        assertEquals(0, convert.code(), convert.err());
        Path emb2 = tmp.resolve("emb2.safetensors");
        assertEquals(0, run("embed", "--model", back.toString(), "--out", emb2.toString(), "a photo of a cat",
                "A green colored rabbit.", "Four wolves in the park").code());
        try (SafeTensors a = SafeTensors.open(emb); SafeTensors b = SafeTensors.open(emb2)) {
            assertArrayEquals(a.floats("embeddings"), b.floats("embeddings"), 0f);
        }
        Result nothing = run("fuse", "--model", sd.toString(), "--out", tmp.resolve("x").toString());
        assertEquals(2, nothing.code());
        assertTrue(nothing.err().contains("nothing to fuse"), nothing.err());
    }

    @Test
    void clipSkipSelectsThePenultimateLayer() {
        Path out = tmp.resolve("skip.safetensors");
        Result r = run("embed", "--model", TestData.tinySd1().toString(), "--clip-skip", "1", "--out", out.toString(),
                "a photo of a cat");
        assertEquals(0, r.code(), r.err());
        try (SafeTensors got = SafeTensors.open(out);
             SafeTensors g = SafeTensors.open(TestData.tinySd1().resolve("golden/golden.safetensors"))) {
            Tensor want = g.tensor("text_encoder.penultimate_normed").narrow(0, 0, 1);
            float[] a = got.floats("embeddings"), b = want.toFloatArray();
            for (int i = 0; i < a.length; i++) {
                assertEquals(b[i], a[i], 1e-4f);
            }
        }
    }

    @Test
    void userMistakesGiveOneLineAndExitCode2() {
        Result missing = run("embed", "--model", tmp.resolve("nope").toString(), "--out", tmp.resolve("o").toString(), "x");
        assertEquals(2, missing.code());
        assertTrue(missing.err().contains("does not exist") && !missing.err().contains("\tat "), missing.err());

        Result badLora = run("embed", "--model", TestData.tinySd1().toString(),
                "--lora", TestData.tinySd1().resolve("lora_unet.safetensors").toString(), "--out", tmp.resolve("o").toString(), "x");
        assertEquals(2, badLora.code());
        assertTrue(badLora.err().contains("lora_unet.safetensors") && !badLora.err().contains("\tat "), badLora.err());

        Result badFlag = run("tokenize", "--modle", "x", "y");
        assertEquals(2, badFlag.code());
        assertTrue(badFlag.err().contains("--model"), badFlag.err());
    }

    @Test
    void loraSpecParsesOptionalWeights() {
        assertEquals(new LoraSpec(Path.of("a.safetensors"), 0.5f), LoraSpec.parse("a.safetensors:0.5"));
        assertEquals(new LoraSpec(Path.of("a.safetensors"), 1f), LoraSpec.parse("a.safetensors"));
        assertEquals(new LoraSpec(Path.of("dir:x/a.safetensors"), 1f), LoraSpec.parse("dir:x/a.safetensors"));
    }

    static double maxAbs(float[] a, float[] b) {
        return Parity.maxAbsDiff(a, b);
    }

    /** The golden's U-Net inputs as the unet command reads them. */
    private static void writeUnetInput(SafeTensors g, Path in) {
        new io.texforce.tensor.io.SafeTensorsWriter()
                .put("sample", g.tensor("unet.in.sample"))
                .putInts("timestep", g.ints("unet.in.timestep"), g.info("unet.in.timestep").shape(),
                        io.texforce.tensor.io.DType.I32)
                .put("encoder_hidden_states", g.tensor("unet.in.encoder_hidden_states"))
                .write(in);
    }

    @Test
    void unetCommandReproducesTheLoraGolden() {
        Path sd = TestData.tinySd1();
        Path in = tmp.resolve("in.safetensors"), out = tmp.resolve("out.safetensors");
        try (SafeTensors g = SafeTensors.open(sd.resolve("golden/golden.safetensors"))) {
            writeUnetInput(g, in);
            Result r = run("unet", "--model", sd.toString(), "--in", in.toString(), "--out", out.toString(),
                    "--lora", sd.resolve("lora_unet.safetensors") + ":1.0");
            assertEquals(0, r.code(), r.err());
            try (SafeTensors got = SafeTensors.open(out)) {
                double err = maxAbs(got.floats("sample"), g.floats("lora.unet.out.sample"));
                System.out.printf("cli unet (LoRA) max abs error %.3e%n", err);
                assertTrue(err < 1e-4, "max abs error " + err);
            }
        }
    }

    @Test
    void decodeCommandReproducesTheVaeGolden() {
        Path sd = TestData.tinySd1();
        Path in = tmp.resolve("lat.safetensors"), out = tmp.resolve("img.safetensors");
        try (SafeTensors g = SafeTensors.open(sd.resolve("golden/golden.safetensors"))) {
            new io.texforce.tensor.io.SafeTensorsWriter().put("latents", g.tensor("vae.in.latents")).write(in);
            Result r = run("decode", "--model", sd.toString(), "--in", in.toString(), "--out", out.toString());
            assertEquals(0, r.code(), r.err());
            try (SafeTensors got = SafeTensors.open(out)) {
                double err = maxAbs(got.floats("image"), g.floats("vae.out.decoded"));
                System.out.printf("cli decode max abs error %.3e%n", err);
                assertTrue(err < 1e-4, "max abs error " + err);
            }
        }
        Result missing = run("decode", "--model", sd.toString(), "--in", sd.resolve("lora_unet.safetensors").toString(),
                "--out", out.toString());
        assertEquals(2, missing.code());
        assertTrue(missing.err().contains("latents"), missing.err());
    }

    @Test
    void generateReproducesThePipelineGoldenAndWritesAPng() throws Exception {
        Path sd = TestData.tinySd1();
        Path lat = tmp.resolve("init.safetensors"), png = tmp.resolve("cat.png"), save = tmp.resolve("cat.safetensors");
        try (SafeTensors g = SafeTensors.open(sd.resolve("golden/golden.safetensors"))) {
            new io.texforce.tensor.io.SafeTensorsWriter().put("latents", g.tensor("pipeline.in.latents")).write(lat);
            Result r = run("generate", "--model", sd.toString(), "--prompt", "a photo of a cat", "--steps", "4",
                    "--guidance", "7.5", "--eta", "0", "--latents", lat.toString(), "--out", png.toString(),
                    "--save", save.toString());
            assertEquals(0, r.code(), r.err());
            try (SafeTensors got = SafeTensors.open(save)) {
                double le = maxAbs(got.floats("latents"), g.floats("pipeline.out.latents"));
                double ie = maxAbs(got.floats("image"), g.floats("pipeline.out.image"));
                System.out.printf("cli generate latents max abs error %.3e, image %.3e%n", le, ie);
                assertTrue(le < 1e-4 && ie < 1e-4, le + " / " + ie);
            }
            assertEquals(32, javax.imageio.ImageIO.read(png.toFile()).getHeight());
        }
    }

    @Test
    void trainPassesGradientCheckpointingIntoTheRunConfig() {
        Path out = tmp.resolve("run");
        Result r = run("train", "--model", TestData.tinySd1().toString(), "--reward", "jpeg-compressibility",
                "--prompts", "text:a cat", "--out", out.toString(), "--epochs", "1", "--samples-per-epoch", "2",
                "--batch-size", "2", "--gradient-accumulation", "1", "--steps", "2", "--eval-images", "1",
                "--no-progress", "--gradient-checkpointing");
        assertEquals(0, r.code(), r.err());
        try (SafeTensors ck = SafeTensors.open(out.resolve("checkpoint.safetensors"))) {
            String config = ck.metadata().get("config");
            assertTrue(config.contains("\"gradientCheckpointing\":true"), config);
        }
    }

    @Test
    void benchReportsTheGraphMemoryWithGradientCheckpointing() throws Exception {
        String[] common = {"bench", "unet", "--config", TestData.tinySd1().toString(), "--latent", "8", "--batch", "1",
                "--warmup", "0", "--iterations", "1"};
        Result r = run(concat(common, "--backward", "--gradient-checkpointing"));
        assertEquals(0, r.code(), r.err());
        var json = new com.fasterxml.jackson.databind.ObjectMapper().readTree(r.out());
        assertTrue(json.get("gradient_checkpointing").asBoolean(), r.out());
        assertTrue(json.get("graph_mb").isNumber() && json.get("forward_backward_s").asDouble() > 0, r.out());
        Result forwardOnly = run(concat(common, "--gradient-checkpointing"));
        assertEquals(2, forwardOnly.code());
        assertTrue(forwardOnly.err().contains("--backward"), forwardOnly.err());
    }

    @Test
    void benchKernelsPrintsOneLinePerKernelAndASummary() throws Exception {
        Result r = run(new String[]{"bench", "kernels", "--latent", "8", "--warmup", "0", "--iterations", "1"});
        assertEquals(0, r.code(), r.err());
        var mapper = new com.fasterxml.jackson.databind.ObjectMapper();
        String[] lines = r.out().strip().split("\n");
        var summary = mapper.readTree(lines[lines.length - 1]);
        assertEquals(lines.length - 1, summary.get("kernels").asInt(), r.out());
        assertEquals(8, summary.get("kernels").asInt(), r.out());
        for (int i = 0; i < lines.length - 1; i++) {
            var k = mapper.readTree(lines[i]);
            assertTrue(k.get("ms").asDouble() > 0, lines[i]);
            assertTrue(k.has("gflop_per_s") || k.has("gb_per_s"), lines[i]);
        }
        Result one = run(new String[]{"bench", "kernels", "--latent", "8", "--warmup", "0", "--iterations", "1",
                "--kernel", "attention_forward_backward"});
        assertEquals(2, one.out().strip().split("\n").length, one.out());
    }

    private static String[] concat(String[] a, String... b) {
        String[] r = java.util.Arrays.copyOf(a, a.length + b.length);
        System.arraycopy(b, 0, r, a.length, b.length);
        return r;
    }
}
