package io.texforce.rewards;

import io.texforce.clip.tokenizer.ClipTokenizer;
import io.texforce.rewards.clip.ClipImageProcessor;
import io.texforce.rewards.clip.ClipModel;
import io.texforce.tensor.GradMode;
import io.texforce.tensor.Tensor;
import io.texforce.tensor.WeightDtype;

import java.util.List;

/**
 * Rewards that score an image by how well it matches its prompt in a CLIP embedding space: the cosine of the
 * normalised image and text features times a scale. {@code clip-score} (scale 1, or 100 as in CLIPScore),
 * {@code pickscore} (scale {@code exp(logit_scale)}, PickScore's formula) and {@code hpsv2} (scale 1, HPSv2's).
 */
public final class ClipSimilarity implements Reward {
    private final String name;
    private final ClipModel model;
    private final ClipImageProcessor processor;
    private final ClipTokenizer tokenizer;
    private final float scale;

    public ClipSimilarity(String name, ClipModel model, ClipImageProcessor processor, ClipTokenizer tokenizer,
                          float scale) {
        this.name = name;
        this.model = model;
        this.processor = processor;
        this.tokenizer = tokenizer;
        this.scale = scale;
    }

    /** CLIPScore-style cosine similarity; {@code times100} scales it as CLIPScore reports it. */
    public static ClipSimilarity clipScore(ClipModel model, ClipImageProcessor processor, ClipTokenizer tokenizer,
                                           boolean times100) {
        return new ClipSimilarity("clip-score", model, processor, tokenizer, times100 ? 100f : 1f);
    }

    /** PickScore: {@code exp(logit_scale) * cosine} with the PickScore_v1 CLIPModel. */
    public static ClipSimilarity pickScore(ClipModel model, ClipImageProcessor processor, ClipTokenizer tokenizer) {
        return new ClipSimilarity("pickscore", model, processor, tokenizer, model.logitScale());
    }

    /** HPSv2: the cosine of normalised features of its fine-tuned open_clip ViT-H/14. */
    public static ClipSimilarity hpsV2(ClipModel model, ClipImageProcessor processor, ClipTokenizer tokenizer) {
        return new ClipSimilarity("hpsv2", model, processor, tokenizer, 1f);
    }

    @Override
    public String name() {
        return name;
    }

    @Override
    public float[] score(Tensor images, List<String> prompts) {
        if (prompts.size() != images.size(0)) {
            throw new IllegalArgumentException(name + ": " + images.size(0) + " images but " + prompts.size()
                    + " prompts");
        }
        // The model computes in float32 whatever activation format its device keeps for the diffusion models.
        try (var g = GradMode.noGrad(); var fp32 = model.backend().activations(WeightDtype.FP32)) {
            // Images may come from another device than the reward model's; preprocessing quantises on the host.
            Tensor image = ClipModel.normalize(model.imageEmbeds(processor.preprocess(images).to(model.backend())));
            Tensor text = ClipModel.normalize(model.textEmbeds(tokenizer.tokenize(prompts)));
            return image.mul(text).sum(1, false).mul(scale).toFloatArray();
        }
    }
}
