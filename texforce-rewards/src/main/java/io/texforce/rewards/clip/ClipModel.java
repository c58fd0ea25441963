package io.texforce.rewards.clip;

import io.texforce.tensor.Backend;
import io.texforce.tensor.cpu.CpuBackend;
import io.texforce.clip.text.ClipTextTransformer;
import io.texforce.tensor.io.torch.WeightFile;
import io.texforce.tensor.Tensor;
import io.texforce.tensor.nn.Linear;
import io.texforce.tensor.nn.Module;
import io.texforce.tensor.nn.CheckpointSource;
import io.texforce.tensor.nn.VarBuilder;
import io.texforce.tensor.nn.WeightSource;

import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import java.util.Set;

/**
 * CLIP with both towers, as transformers' {@code CLIPModel}: parameter names are transformers' own
 * ({@code vision_model.*}, {@code text_model.*}, {@code visual_projection}, {@code text_projection},
 * {@code logit_scale}); OpenAI / open_clip checkpoints are read through {@link OpenClipSource}.
 */
public final class ClipModel extends Module {
    /** Buffers and bookkeeping values of the known checkpoints that are not weights. */
    private static final Set<String> NON_WEIGHTS = Set.of("attn_mask", "input_resolution", "context_length",
            "vocab_size");

    private final ClipModelConfig config;
    private final ClipTextTransformer textModel;
    private final ClipVisionTransformer visionModel;
    private final Linear textProjection;
    private final Linear visualProjection;
    private final Tensor logitScale;

    public ClipModel(VarBuilder vb, ClipModelConfig c) {
        this.config = c;
        this.textModel = child("text_model", new ClipTextTransformer(vb.pp("text_model"), c.text()));
        this.visionModel = child("vision_model", new ClipVisionTransformer(vb.pp("vision_model"), c.vision()));
        this.visualProjection = child("visual_projection", new Linear(vb.pp("visual_projection"),
                c.vision().hiddenSize(), c.projectionDim(), false));
        this.textProjection = child("text_projection", new Linear(vb.pp("text_projection"), c.text().hiddenSize(),
                c.projectionDim(), false));
        this.logitScale = param("logit_scale", vb.get("logit_scale"));
    }

    /**
     * Loads a model: a directory is a transformers {@code CLIPModel} folder; a file is an OpenAI / open_clip
     * checkpoint whose config is {@code <stem>_config.json} or {@code open_clip_config.json} beside it.
     */
    public static ClipModel load(Path path) {
        return load(path, CpuBackend.INSTANCE);
    }

    /** As {@link #load(Path)}, with the weights on {@code backend}. */
    public static ClipModel load(Path path, Backend backend) {
        if (Files.isDirectory(path)) {
            return loadTransformers(path, backend);
        }
        return loadOpenClip(path, ClipModelConfig.loadOpenClip(openClipConfigOf(path)), backend);
    }

    /** The open_clip config file that belongs to {@code weights}. */
    static Path openClipConfigOf(Path weights) {
        String name = weights.getFileName().toString();
        String stem = name.contains(".") ? name.substring(0, name.lastIndexOf('.')) : name;
        for (Path candidate : List.of(weights.resolveSibling(stem + "_config.json"),
                weights.resolveSibling("open_clip_config.json"))) {
            if (Files.isRegularFile(candidate)) {
                return candidate;
            }
        }
        throw new IllegalArgumentException("no open_clip config for " + weights + ": expected " + stem
                + "_config.json or open_clip_config.json beside it");
    }

    /** Loads a transformers folder: config.json and model.safetensors (or pytorch_model.bin). */
    public static ClipModel loadTransformers(Path dir) {
        return loadTransformers(dir, CpuBackend.INSTANCE);
    }

    /** As {@link #loadTransformers(Path)}, with the weights on {@code backend}. */
    public static ClipModel loadTransformers(Path dir, Backend backend) {
        Path configJson = dir.resolve("config.json");
        if (!Files.isRegularFile(configJson)) {
            throw new IllegalArgumentException("no config.json in " + dir + " (expected a transformers CLIPModel folder)");
        }
        ClipModelConfig c = ClipModelConfig.loadTransformers(configJson);
        // model.safetensors, its shards or its only variant; else pytorch_model.bin (read without running it)
        try (CheckpointSource src = CheckpointSource.openComponent(dir, "model", null)) {
            return fromWeights(src, c, backend);
        }
    }

    /** Loads an OpenAI / open_clip checkpoint (.safetensors, or a PyTorch pickle) with config {@code c}. */
    public static ClipModel loadOpenClip(Path weights, ClipModelConfig c) {
        return loadOpenClip(weights, c, CpuBackend.INSTANCE);
    }

    /** As {@link #loadOpenClip(Path, ClipModelConfig)}, with the weights on {@code backend}. */
    public static ClipModel loadOpenClip(Path weights, ClipModelConfig c, Backend backend) {
        try (WeightFile file = WeightFile.open(weights)) {
            return fromWeights(new OpenClipSource(file.source()), c, backend);
        }
    }

    /** Builds the model from weights under transformers' names, failing on weights it would not use. */
    public static ClipModel fromWeights(WeightSource source, ClipModelConfig c) {
        return fromWeights(source, c, CpuBackend.INSTANCE);
    }

    /** As {@link #fromWeights(WeightSource, ClipModelConfig)}, with the weights on {@code backend}. */
    public static ClipModel fromWeights(WeightSource source, ClipModelConfig c, Backend backend) {
        VarBuilder vb = VarBuilder.of(source, backend);
        ClipModel model = new ClipModel(vb, c);
        vb.checkAllUsed(k -> k.endsWith("position_ids") || NON_WEIGHTS.contains(k));
        return model;
    }

    public ClipModelConfig config() {
        return config;
    }

    /** Projected image features [B, projection] of preprocessed pixel values, not normalised. */
    public Tensor imageEmbeds(Tensor pixelValues) {
        return visualProjection.forward(visionModel.forward(pixelValues));
    }

    /** Projected text features [B, projection] of token rows, pooled at each row's EOS, not normalised. */
    public Tensor textEmbeds(int[][] ids) {
        Tensor hidden = textModel.forward(ids, 0);
        List<Tensor> pooled = new ArrayList<>(ids.length);
        for (int i = 0; i < ids.length; i++) {
            pooled.add(hidden.select(0, i).select(0, poolPosition(ids[i])));
        }
        return textProjection.forward(Tensor.stack(pooled, 0));
    }

    /** Where the text tower pools a row: its largest id (the first, on ties) or its first EOS. */
    public int poolPosition(int[] ids) {
        int best = 0;
        for (int i = 0; i < ids.length; i++) {
            if (config.poolAtArgmax() ? ids[i] > ids[best] : ids[i] == config.eosTokenId()) {
                best = i;
                if (!config.poolAtArgmax()) {
                    return i;
                }
            }
        }
        if (!config.poolAtArgmax()) {
            throw new IllegalArgumentException("token row has no end-of-text id " + config.eosTokenId());
        }
        return best;
    }

    /** {@code exp(logit_scale)}, the temperature of CLIP's logits. */
    public float logitScale() {
        return (float) Math.exp(logitScale.item());
    }

    /** Rows of {@code x} [B, D] divided by their L2 norm. */
    public static Tensor normalize(Tensor x) {
        return x.div(x.square().sum(x.dim() - 1, true).sqrt());
    }

    /** {@code exp(logit_scale) * normalised image @ normalised text^T}: [images, texts]. */
    public Tensor logitsPerImage(Tensor imageEmbeds, Tensor textEmbeds) {
        return Tensor.matmul(normalize(imageEmbeds), normalize(textEmbeds), false, true).mul(logitScale());
    }
}
