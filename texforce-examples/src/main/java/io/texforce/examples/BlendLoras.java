package io.texforce.examples;

import io.texforce.clip.text.ClipTextModel;
import io.texforce.clip.tokenizer.ClipTokenizer;
import io.texforce.tensor.GradMode;
import io.texforce.tensor.Tensor;
import io.texforce.tensor.io.SafeTensorsWriter;
import io.texforce.tensor.lora.LoraNetwork;

import java.nio.file.Path;
import java.util.List;

/**
 * Blends two text-encoder LoRAs as alpha * theta_1 + (1 - alpha) * theta_2 (e.g. one trained for aesthetics, one
 * for text alignment), merges the blend into the weights for speed, and writes the prompt embeddings.
 * Usage: {@code BlendLoras MODEL_DIR LORA_1 LORA_2 ALPHA OUT.safetensors [PROMPT]}.
 */
public final class BlendLoras {
    private BlendLoras() {
    }

    public static void main(String[] args) {
        Path model = Path.of(args[0]);
        float alpha = Float.parseFloat(args[3]);
        ClipTokenizer tok = ClipTokenizer.load(model.resolve("tokenizer"));
        ClipTextModel te = ClipTextModel.load(model);
        LoraNetwork a = te.loadLora(Path.of(args[1]), "first", alpha);
        LoraNetwork b = te.loadLora(Path.of(args[2]), "second", 1f - alpha);
        a.merge();
        b.merge();
        String prompt = args.length > 5 ? args[5] : "a photo of a cat";
        try (var g = GradMode.noGrad()) {
            Tensor emb = te.forward(tok.tokenize(List.of(prompt)));
            new SafeTensorsWriter().put("embeddings", emb).write(Path.of(args[4]));
        }
        System.out.println("wrote blended embeddings to " + args[4]);
    }
}
