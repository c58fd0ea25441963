package io.texforce.clip.text;

import io.texforce.tensor.Backend;
import io.texforce.tensor.Tensor;
import io.texforce.tensor.WeightDtype;
import io.texforce.tensor.cpu.CpuBackend;
import io.texforce.tensor.lora.LoraConfig;
import io.texforce.tensor.lora.LoraNetwork;
import io.texforce.tensor.nn.Module;
import io.texforce.tensor.nn.CheckpointSource;
import io.texforce.tensor.nn.VarBuilder;

import io.texforce.tensor.io.ComponentFolder;

import java.nio.file.Path;

/**
 * The CLIP text encoder of Stable Diffusion (transformers' {@code CLIPTextModel}), with parameter names exactly
 * those of its checkpoints ({@code text_model.encoder.layers.0.self_attn.q_proj.weight}, ...).
 */
public final class ClipTextModel extends Module {
    private static final String ROOT = "text_model";
    private final ClipTextConfig config;
    private final ClipTextTransformer textModel;

    public ClipTextModel(VarBuilder vb, ClipTextConfig config) {
        this.config = config;
        this.textModel = child(ROOT, new ClipTextTransformer(vb.pp(ROOT), config));
    }

    /**
     * Loads a text encoder folder ({@code config.json} + {@code model.safetensors}, F32/F16/BF16) onto the CPU.
     * Accepts either the {@code text_encoder/} folder or the pipeline folder that contains it.
     */
    public static ClipTextModel load(Path dir) {
        return load(dir, CpuBackend.INSTANCE);
    }

    public static ClipTextModel load(Path dir, Backend backend) {
        return load(dir, backend, WeightDtype.FP32);
    }

    /** Loads with the Linear weights and token/position embeddings stored in {@code weightDtype}. */
    public static ClipTextModel load(Path dir, Backend backend, WeightDtype weightDtype) {
        return load(dir, backend, weightDtype, null);
    }

    /**
     * Loads the weights saved as {@code variant} ({@code "fp16"}, {@code "non_ema"}, ...; null: the plain weights,
     * or the only variant the folder holds), as {@code from_pretrained(..., variant=)} does; see
     * {@link io.texforce.tensor.io.ComponentWeights}.
     */
    public static ClipTextModel load(Path dir, Backend backend, WeightDtype weightDtype, String variant) {
        ComponentFolder component = ComponentFolder.resolve(dir, "text_encoder");
        Path folder = component.folder();
        ClipTextConfig c = ClipTextConfig.load(component.config());
        try (CheckpointSource src = CheckpointSource.openComponent(folder, "model", variant)) {
            // transformers 5 saves CLIPTextModel without its text_model level (embeddings.token_embedding.weight).
            boolean flat = !src.contains(ROOT + ".embeddings.token_embedding.weight")
                    && src.contains("embeddings.token_embedding.weight");
            VarBuilder vb = VarBuilder.of(flat ? src.withPrefix(ROOT + ".") : src, backend, weightDtype);
            ClipTextModel model = new ClipTextModel(vb, c);
            // Buffers and the projection of CLIPTextModelWithProjection are not part of the text encoder proper.
            vb.checkAllUsed(k -> k.endsWith("position_ids") || k.startsWith("text_projection")
                    || k.startsWith(ROOT + ".text_projection"));
            return model;
        }
    }

    public ClipTextConfig config() {
        return config;
    }

    /** {@code last_hidden_state} [B, N, hidden] for token rows of equal length. */
    public Tensor forward(int[][] ids) {
        return textModel.forward(ids, 0);
    }

    /** The hidden state {@code clipSkip} layers before the last, through the final layer norm. */
    public Tensor forward(int[][] ids, int clipSkip) {
        for (int r = 0; r < ids.length; r++) {
            for (int p = 0; p < ids[r].length; p++) {
                if (ids[r][p] < 0 || ids[r][p] >= config.vocabSize()) {
                    throw new IllegalArgumentException("token id " + ids[r][p] + " (prompt " + r + ", position " + p
                            + ") is outside the text encoder's vocabulary of " + config.vocabSize()
                            + " (is the tokenizer the one that belongs to this text encoder?)");
                }
            }
        }
        return textModel.forward(ids, clipSkip);
    }

    /** Checkpoints each encoder layer (see {@link ClipEncoder#setGradientCheckpointing}). */
    public void setGradientCheckpointing(boolean enabled) {
        textModel.encoder().setGradientCheckpointing(enabled);
    }

    public boolean gradientCheckpointing() {
        return textModel.encoder().gradientCheckpointing();
    }

    /** The key prefix of text-encoder LoRA tensors in diffusers/peft files. */
    public static final String LORA_COMPONENT = "text_encoder";
    /** The kohya/A1111 name prefix of text-encoder LoRA layers. */
    public static final String LORA_KOHYA_PREFIX = "lora_te";

    /** Attaches the text-encoder adapters of a LoRA file (any supported layout) with blend weight {@code weight}. */
    public LoraNetwork loadLora(Path file, String name, float weight) {
        return LoraNetwork.load(this, file, LORA_COMPONENT, LORA_KOHYA_PREFIX, name, weight);
    }

    /** Attaches a new trainable adapter (A Gaussian, B zero: the model is unchanged until trained). */
    public LoraNetwork createLora(String name, LoraConfig config, long seed) {
        return LoraNetwork.create(this, LORA_COMPONENT, name, config, seed);
    }

    public ClipTextTransformer textModel() {
        return textModel;
    }
}
