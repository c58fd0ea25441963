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

    /** Max abs difference between the embeddings written to {@code out} and tiny-sd1's golden for "a photo of a cat". */
    private static double goldenError(Path out) {
        try (SafeTensors got = SafeTensors.open(out);
             SafeTensors g = SafeTensors.open(TestData.tinySd1().resolve("golden/golden.safetensors"))) {
            float[] a = got.floats("embeddings");
            float[] b = g.tensor("text_encoder.last_hidden_state").narrow(0, 0, 1).toFloatArray();
            double err = 0;
            for (int i = 0; i < a.length; i++) {
                err = Math.max(err, Math.abs(a[i] - b[i]));
            }
            return err;
        }
    }

    @Test
    void embedWithFp16WeightsStaysCloseToTheGolden() {
        Path out = tmp.resolve("e.safetensors");
        CliTest.Result r = CliTest.run("embed", "--model", TestData.tinySd1().toString(), "--dtype", "fp16",
                "--out", out.toString(), "a photo of a cat");
        assertEquals(0, r.code(), r.err());
        double err = goldenError(out);
        System.out.printf("cli embed --dtype fp16 max abs error %.3e%n", err);
        assertTrue(err > 0 && err < 1e-2, "max abs error " + err);
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
        double err = goldenError(out);
        System.out.printf("cli embed --variant fp16 max abs error %.3e%n", err);
        assertTrue(err < 1e-4, "max abs error " + err);

        CliTest.Result missing = CliTest.run("embed", "--model", sd.toString(), "--variant", "bf16", "--out",
                out.toString(), "a cat");
        assertEquals(2, missing.code(), missing.err());
        assertTrue(missing.err().contains("no 'bf16' variant") && missing.err().contains("[fp16, non_ema]"),
                missing.err());
    }

    @Test
    void convertToDiffusersMakesAFolderTheModelCommandsTake() {
        Path single = TestData.root().resolve("single-file");
        Path out = tmp.resolve("converted");
        CliTest.Result r = CliTest.run("convert", "--to-diffusers", single.resolve("tiny-sd2.safetensors").toString(),
                out.toString(), "--config-from", single.resolve("tiny-sd2").toString(), "--image-size", "64");
        assertEquals(0, r.code(), r.err());
        assertTrue(r.err().contains("SD 2.x checkpoint"), r.err());
        CliTest.Result embed = CliTest.run("embed", "--model", out.toString(), "--out", tmp.resolve("e.safetensors")
                .toString(), "a cat");
        // tiny-sd2's vocabulary has 1000 entries: the CLIP tokenizer's ids for "a cat" lie beyond it
        assertEquals(2, embed.code(), embed.err());
        assertTrue(embed.err().contains("vocabulary of 1000"), embed.err());
        CliTest.Result again = CliTest.run("convert", "--to-diffusers", single.resolve("tiny-sd2.safetensors").toString(),
                out.toString());
        assertEquals(2, again.code());
        assertTrue(again.err().contains("exists already") && !again.err().contains("\tat "), again.err());
        CliTest.Result misplaced = CliTest.run("convert", single.resolve("tiny-sd2.safetensors").toString(),
                tmp.resolve("x.safetensors").toString(), "--ema");
        assertEquals(2, misplaced.code());
        assertTrue(misplaced.err().contains("go with --to-diffusers"), misplaced.err());
    }
}
