package io.texforce.unet.model;

import io.texforce.tensor.GradMode;
import io.texforce.tensor.Tensor;
import io.texforce.tensor.TestData;
import io.texforce.tensor.io.SafeTensors;
import io.texforce.tensor.lora.LoraConfig;
import io.texforce.tensor.lora.LoraNetwork;
import io.texforce.tensor.random.Philox;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;

import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.stream.IntStream;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertTrue;

/**
 * With gradient checkpointing the tiny SD 1 U-Net gives bit-identical outputs and gradients: of its LoRA
 * weights (attention and resnet convolutions) and of the text embeddings.
 */
class UNetGradientCheckpointingTest {
    static UNet2DConditionModel unet;
    static SafeTensors golden;

    @BeforeAll
    static void load() {
        unet = UNet2DConditionModel.load(TestData.tinySd1());
        golden = SafeTensors.open(TestData.tinySd1().resolve("golden/golden.safetensors"));
    }

    @AfterEach
    void reset() {
        unet.setGradientCheckpointing(false);
    }

    private static Tensor random(long seed, int... shape) {
        float[] d = new float[io.texforce.tensor.Shape.numel(shape)];
        Philox.normal(seed, 0, d, 0, d.length);
        return Tensor.of(d, shape);
    }

    /** Output and gradients (of the text embeddings, then of each trainable LoRA weight) of a weighted loss. */
    private static Map<String, float[]> run(boolean checkpointing, LoraNetwork lora) {
        unet.setGradientCheckpointing(checkpointing);
        Tensor sample = golden.tensor("unet.in.sample");
        Tensor leaf = golden.tensor("unet.in.encoder_hidden_states").detach().requiresGrad(true);
        // The embeddings reach the U-Net through an op, as they do from the text encoder.
        Tensor context = leaf.mul(1.5f);
        Tensor out = unet.forward(sample, golden.tensor("unet.in.timestep").toFloatArray(), context);
        Tensor loss = out.mul(random(7, out.shape())).sum();
        loss.backward();
        Map<String, float[]> result = new LinkedHashMap<>();
        result.put("output", out.detach().toFloatArray());
        result.put("encoder_hidden_states", leaf.grad().toFloatArray());
        if (lora != null) {
            lora.parameters().forEach((k, t) -> {
                result.put(k, t.grad().toFloatArray());
                t.zeroGrad();
            });
        }
        return result;
    }

    private static void assertBitIdentical(Map<String, float[]> expected, Map<String, float[]> actual) {
        assertEquals(expected.keySet(), actual.keySet());
        float max = 0;
        for (var e : expected.entrySet()) {
            float[] a = actual.get(e.getKey());
            for (int i = 0; i < a.length; i++) {
                max = Math.max(max, Math.abs(a[i] - e.getValue()[i]));
            }
            assertArrayEquals(e.getValue(), a, e.getKey() + " differs with checkpointing");
            assertTrue(IntStream.range(0, a.length).anyMatch(i -> a[i] != 0),
                    e.getKey() + " is all zeros: the comparison would not see a difference");
        }
        System.out.printf("output and %d gradients: max abs difference with checkpointing %.3e%n",
                expected.size() - 1, max);
    }

    @Test
    void loraAndTextEmbeddingGradientsAreBitIdentical() {
        LoraNetwork lora = unet.createLora("ckpt", new LoraConfig(2, 2f,
                List.of("to_q", "to_k", "to_v", "to_out.0", "conv1", "conv2")), 3);
        try {
            // lora_B starts at zero (no gradient for lora_A); random values make every gradient non-zero.
            long seed = 100;
            try (var g = GradMode.noGrad()) {
                for (var a : lora.adapters().values()) {
                    a.up().copyFrom(random(seed++, a.up().shape()).mul(0.1f));
                }
            }
            Map<String, float[]> plain = run(false, lora);
            Map<String, float[]> checkpointed = run(true, lora);
            assertBitIdentical(plain, checkpointed);
        } finally {
            lora.detach();
        }
    }

    @Test
    void frozenUNetGivesBitIdenticalTextEmbeddingGradients() {
        assertBitIdentical(run(false, null), run(true, null));
    }

    @Test
    void withoutGradCheckpointingChangesNothing() {
        unet.setGradientCheckpointing(true);
        Tensor context = golden.tensor("unet.in.encoder_hidden_states").detach().requiresGrad(true);
        try (var g = GradMode.noGrad()) {
            Tensor out = unet.forward(golden.tensor("unet.in.sample"),
                    golden.tensor("unet.in.timestep").toFloatArray(), context);
            assertFalse(out.requiresGrad());
            assertArrayEquals(golden.tensor("unet.out.sample").toFloatArray(), out.toFloatArray(), 1e-4f);
        }
    }
}
