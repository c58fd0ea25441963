package io.texforce.clip.text;

import io.texforce.tensor.GradMode;
import io.texforce.tensor.Shape;
import io.texforce.tensor.Tensor;
import io.texforce.tensor.TestData;
import io.texforce.tensor.io.SafeTensors;
import io.texforce.tensor.lora.LoraConfig;
import io.texforce.tensor.lora.LoraNetwork;
import io.texforce.tensor.random.Philox;
import org.junit.jupiter.api.Test;

import java.util.LinkedHashMap;
import java.util.Map;
import java.util.stream.IntStream;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertTrue;

/** Checkpointed encoder layers give the text-encoder LoRA bit-identical gradients (clip skip 1 included). */
class ClipGradientCheckpointingTest {
    private static Tensor random(long seed, int... shape) {
        float[] d = new float[Shape.numel(shape)];
        Philox.normal(seed, 0, d, 0, d.length);
        return Tensor.of(d, shape);
    }

    private static Map<String, float[]> gradients(ClipTextModel model, LoraNetwork lora, int[][] ids, int clipSkip) {
        Tensor out = model.forward(ids, clipSkip);
        out.mul(random(9, out.shape())).sum().backward();
        Map<String, float[]> grads = new LinkedHashMap<>();
        grads.put("output", out.detach().toFloatArray());
        // With clip skip, the adapters of the skipped layers take no part and get no gradient.
        lora.parameters().forEach((k, t) -> {
            if (t.grad() != null) {
                grads.put(k, t.grad().toFloatArray());
                t.zeroGrad();
            }
        });
        return grads;
    }

    @Test
    void loraGradientsAreBitIdentical() {
        ClipTextModel model = ClipTextModel.load(TestData.tinySd1());
        SafeTensors golden = SafeTensors.open(TestData.tinySd1().resolve("golden/golden.safetensors"));
        int[][] ids = java.util.Arrays.copyOf(golden.intRows("tokens.input_ids"), 2);
        LoraNetwork lora = model.createLora("ckpt", LoraConfig.textEncoderDefault(), 1);
        long seed = 50;
        try (var g = GradMode.noGrad()) {
            for (var a : lora.adapters().values()) {
                a.up().copyFrom(random(seed++, a.up().shape()).mul(0.1f));
            }
        }
        for (int clipSkip : new int[]{0, 1}) {
            Map<String, float[]> plain = gradients(model, lora, ids, clipSkip);
            model.setGradientCheckpointing(true);
            Map<String, float[]> checkpointed = gradients(model, lora, ids, clipSkip);
            model.setGradientCheckpointing(false);
            assertEquals(plain.keySet(), checkpointed.keySet());
            for (var e : plain.entrySet()) {
                float[] a = checkpointed.get(e.getKey());
                assertArrayEquals(e.getValue(), a, e.getKey() + " differs with checkpointing, clip skip " + clipSkip);
                assertTrue(IntStream.range(0, a.length).anyMatch(i -> a[i] != 0), e.getKey() + " is all zeros");
            }
            System.out.printf("clip skip %d: output and %d LoRA gradients bit-identical with checkpointing%n",
                    clipSkip, plain.size() - 1);
        }
        model.setGradientCheckpointing(true);
        try (var g = GradMode.noGrad()) {
            assertFalse(model.forward(ids).requiresGrad());
        }
    }
}
