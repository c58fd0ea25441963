package io.texforce.cli;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import io.texforce.tensor.TestData;
import io.texforce.tensor.io.SafeTensors;
import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/** {@code --dtype}: models loaded with 16-bit frozen weights; {@code --variant}: which weight files. */
class WeightDtypeCliTest {
    @TempDir
    Path tmp;

    @Test
    void embedWithFp16WeightsStaysCloseToTheGolden() {
        Path out = tmp.resolve("e.safetensors");
        CliTest.Result r = CliTest.run("embed", "--model", TestData.tinySd1().toString(), "--dtype", "fp16",
                "--out", out.toString(), "a photo of a cat");
        assertEquals(0, r.code(), r.err());
        try (SafeTensors got = SafeTensors.open(out);
             SafeTensors g = SafeTensors.open(TestData.tinySd1().resolve("golden/golden.safetensors"))) {
            float[] a = got.floats("embeddings");
            float[] b = g.tensor("text_encoder.last_hidden_state").narrow(0, 0, 1).toFloatArray();
            double err = 0;
            for (int i = 0; i < a.length; i++) {
                err = Math.max(err, Math.abs(a[i] - b[i]));
            }
            System.out.printf("cli embed --dtype fp16 max abs error %.3e%n", err);
            assertTrue(err > 0 && err < 1e-2, "max abs error " + err);
        }
    }

    @Test
    void anUnknownDtypeIsAUserError() {
        CliTest.Result r = CliTest.run("embed", "--model", TestData.tinySd1().toString(), "--dtype", "int8",
                "--out", tmp.resolve("o").toString(), "x");
        assertEquals(2, r.code());
        assertTrue(r.err().contains("int8") && r.err().contains("bf16") && !r.err().contains("\tat "), r.err());
    }

    /** A pipeline folder whose text encoder has only the variants fp16 and non_ema (both the tiny model's weights). */
    private Path folderWithTwoTextEncoderVariants() throws IOException {
        Path sd = tmp.resolve("sd");
        Path src = TestData.tinySd1();
        for (String d : new String[]{"tokenizer", "text_encoder"}) {
            Files.createDirectories(sd.resolve(d));
            try (var files = Files.list(src.resolve(d))) {
                for (Path f : files.toList()) {
                    String name = f.getFileName().toString();
                    if (name.equals("model.safetensors")) {
                        Files.copy(f, sd.resolve(d).resolve("model.fp16.safetensors"));
                        Files.copy(f, sd.resolve(d).resolve("model.non_ema.safetensors"));
                    } else {
                        Files.copy(f, sd.resolve(d).resolve(name));
                    }
                }
            }
        }
        return sd;
    }

    @Test
    void variantChoosesAmongWeightFiles() throws IOException {
        Path sd = folderWithTwoTextEncoderVariants();
        Path out = tmp.resolve("e.safetensors");
        CliTest.Result ambiguous = CliTest.run("embed", "--model", sd.toString(), "--out", out.toString(), "a cat");
        assertEquals(2, ambiguous.code(), ambiguous.err());
        assertTrue(ambiguous.err().contains("[fp16, non_ema]") && ambiguous.err().contains("--variant")
                && !ambiguous.err().contains("\tat "), ambiguous.err());

        CliTest.Result r = CliTest.run("embed", "--model", sd.toString(), "--variant", "fp16", "--out", out.toString(),
                "a photo of a cat");
        assertEquals(0, r.code(), r.err());
        try (SafeTensors got = SafeTensors.open(out);
             SafeTensors g = SafeTensors.open(TestData.tinySd1().resolve("golden/golden.safetensors"))) {
            float[] a = got.floats("embeddings");
            float[] b = g.tensor("text_encoder.last_hidden_state").narrow(0, 0, 1).toFloatArray();
            double err = 0;
            for (int i = 0; i < a.length; i++) {
                err = Math.max(err, Math.abs(a[i] - b[i]));
            }
            System.out.printf("cli embed --variant fp16 max abs error %.3e%n", err);
            assertTrue(err < 1e-4, "max abs error " + err);
        }

        CliTest.Result missing = CliTest.run("embed", "--model", sd.toString(), "--variant", "bf16", "--out",
                out.toString(), "a cat");
        assertEquals(2, missing.code(), missing.err());
        assertTrue(missing.err().contains("no 'bf16' variant") && missing.err().contains("[fp16, non_ema]"),
                missing.err());
    }
}
