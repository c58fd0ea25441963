package io.texforce.clip.text;

import io.texforce.tensor.GradMode;
import io.texforce.tensor.Parity;
import io.texforce.tensor.Tensor;
import io.texforce.tensor.TestData;
import io.texforce.tensor.io.SafeTensors;
import io.texforce.tensor.lora.LoraNetwork;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;

import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

/**
 * A text-encoder adapter saved by peft itself (testdata/lora-interop/peft-adapter, made by
 * tools/interop/make_peft_adapter_fixture.py): adapter_model.safetensors carries no metadata; lora_alpha 6 for rank
 * 2 and an alpha_pattern live in adapter_config.json beside it. Read from the folder or the file, against peft.
 */
class PeftAdapterFolderTest {
    private static final Path DIR = TestData.root().resolve("lora-interop/peft-adapter");

    @TempDir
    Path tmp;

    private static double error(Path lora) {
        ClipTextModel model = ClipTextModel.load(TestData.tinySd1());
        LoraNetwork n = model.loadLora(lora, "peft", 1f);
        try (SafeTensors g = SafeTensors.open(DIR.resolve("golden.safetensors")); var noGrad = GradMode.noGrad()) {
            int[][] ids = {g.ints("input_ids")};
            Tensor out = model.forward(ids);
            return Parity.maxAbsDiff(out, g.tensor("last_hidden_state"));
        } finally {
            n.detach();
        }
    }

    @Test
    void aPeftAdapterFolderMatchesPeft() {
        double folder = error(DIR);
        double file = error(DIR.resolve("adapter_model.safetensors"));
        System.out.printf("peft adapter folder max abs error %.3e, file %.3e%n", folder, file);
        assertTrue(folder < 1e-4 && file < 1e-4, folder + " / " + file);
    }

    @Test
    void withoutItsConfigTheScaleWouldBeWrong() throws IOException {
        Files.copy(DIR.resolve("adapter_model.safetensors"), tmp.resolve("adapter_model.safetensors"));
        double err = error(tmp);  // alpha = r: every adapter a third (or half) of peft's
        System.out.printf("without adapter_config.json: max abs error %.3e%n", err);
        assertTrue(err > 1e-3, "the config's alpha must matter: " + err);
    }

    @Test
    void unsupportedAdapterKindsAreRefused() throws IOException {
        Files.copy(DIR.resolve("adapter_model.safetensors"), tmp.resolve("adapter_model.safetensors"));
        Files.writeString(tmp.resolve("adapter_config.json"), Files.readString(DIR.resolve("adapter_config.json"))
                .replace("\"use_dora\": false", "\"use_dora\": true"));
        var e = assertThrows(IllegalArgumentException.class, () -> error(tmp));
        assertTrue(e.getMessage().contains("use_dora"), e.getMessage());
        Files.createDirectories(tmp.resolve("empty"));
        var missing = assertThrows(IllegalArgumentException.class, () -> error(tmp.resolve("empty")));
        assertTrue(missing.getMessage().contains("without adapter_model.safetensors"), missing.getMessage());
    }
}
