package io.texforce.clip.text;

import io.texforce.tensor.Backend;
import io.texforce.tensor.GradMode;
import io.texforce.tensor.Parity;
import io.texforce.tensor.Tensor;
import io.texforce.tensor.TestData;
import io.texforce.tensor.cpu.CpuBackend;
import io.texforce.tensor.foreign.ForeignBackend;
import io.texforce.tensor.io.SafeTensors;
import io.texforce.tensor.lora.LoraConfig;
import io.texforce.tensor.lora.LoraNetwork;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;

import java.nio.file.Path;
import java.util.List;
import java.util.Map;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

/**
 * The text encoder on a backend that is not the CPU (the test stand-in for a GPU): golden parity, bit-identity
 * with the CPU, LoRA files and trainable LoRA gradients, and no host transfer inside a forward pass.
 */
class ClipOnForeignBackendTest {
    static final ForeignBackend F = ForeignBackend.INSTANCE;
    static SafeTensors golden;
    static int[][] ids;

    @BeforeAll
    static void load() {
        golden = SafeTensors.open(TestData.tinySd1().resolve("golden/golden.safetensors"));
        ids = golden.intRows("tokens.input_ids");
    }

    @Test
    void goldenParityAndBitIdentityWithTheCpu() {
        ClipTextModel cpu = ClipTextModel.load(TestData.tinySd1(), CpuBackend.INSTANCE);
        ClipTextModel dev = ClipTextModel.load(TestData.tinySd1(), F);
        try (var g = GradMode.noGrad()) {
            for (int skip : new int[]{0, 1}) {
                long reads = F.hostReads();
                Tensor out = dev.forward(ids, skip);
                assertEquals(reads, F.hostReads(), "host reads inside the text encoder's forward");
                assertEquals(F, out.backend());
                double vsCpu = Parity.maxAbsDiff(out, cpu.forward(ids, skip));
                double vsGolden = Parity.maxAbsDiff(out, golden.tensor(skip == 0 ? "text_encoder.last_hidden_state"
                        : "text_encoder.penultimate_normed"));
                System.out.printf("text encoder on foreign (clip skip %d): max abs error vs cpu %.3e, vs golden %.3e%n",
                        skip, vsCpu, vsGolden);
                assertEquals(0.0, vsCpu);
                assertTrue(vsGolden < 1e-4, "max abs error vs golden " + vsGolden);
            }
        }
    }

    @Test
    void loraFilesAndTrainableLoraMatchTheCpu() {
        Path file = TestData.tinySd1().resolve("lora_text_encoder.safetensors");
        float[][] cpu = loraRun(CpuBackend.INSTANCE, file), dev = loraRun(F, file);
        for (int i = 0; i < cpu.length; i++) {
            System.out.printf("text encoder LoRA on foreign, result %d: max abs error vs cpu %.3e%n", i,
                    Parity.maxAbsDiff(dev[i], cpu[i]));
            assertArrayEquals(cpu[i], dev[i]);
        }
    }

    /** Output with a LoRA file at 0.7, then the gradients of a fresh trainable LoRA, flattened. */
    private static float[][] loraRun(Backend be, Path file) {
        ClipTextModel m = ClipTextModel.load(TestData.tinySd1(), be);
        LoraNetwork fromFile = m.loadLora(file, "file", 0.7f);
        float[] withFile;
        try (var g = GradMode.noGrad()) {
            withFile = m.forward(ids).toFloatArray();
        }
        fromFile.detach();
        LoraNetwork trained = m.createLora("t", new LoraConfig(4, 4f, List.of("q_proj", "v_proj")), 3);
        // Gradients of lora_B only are non-zero at init (B = 0 zeroes lora_A's); a nonlinear loss reaches both.
        m.forward(ids).square().mean().backward();
        Map<String, Tensor> params = trained.parameters();
        int n = params.values().stream().mapToInt(Tensor::numel).sum();
        float[] grads = new float[n];
        int at = 0;
        for (Tensor p : params.values()) {
            assertEquals(be, p.grad().backend());
            float[] gp = p.grad().toFloatArray();
            System.arraycopy(gp, 0, grads, at, gp.length);
            at += gp.length;
        }
        trained.detach();
        return new float[][]{withFile, grads};
    }
}
