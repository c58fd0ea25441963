package io.texforce.rewards;

import io.texforce.rewards.clip.AestheticHead;
import io.texforce.rewards.clip.ClipImageProcessor;
import io.texforce.rewards.clip.ClipModel;
import io.texforce.tensor.GradMode;
import io.texforce.tensor.Tensor;
import io.texforce.tensor.WeightDtype;

import java.util.List;

/**
 * DDPO's aesthetic reward: the LAION aesthetic predictor on L2-normalised CLIP image features (ViT-L/14 for the
 * released head). Prompts are ignored.
 */
public final class AestheticScore implements Reward {
    private final ClipModel model;
    private final ClipImageProcessor processor;
    private final AestheticHead head;

    public AestheticScore(ClipModel model, ClipImageProcessor processor, AestheticHead head) {
        if (head.inputSize() != model.config().projectionDim()) {
            throw new IllegalArgumentException("aesthetic head expects " + head.inputSize() + "-d image features but"
                    + " the CLIP model projects to " + model.config().projectionDim());
        }
        this.model = model;
        this.processor = processor;
        this.head = head;
    }

    @Override
    public String name() {
        return "aesthetic";
    }

    @Override
    public float[] score(Tensor images, List<String> prompts) {
        // The model computes in float32 whatever activation format its device keeps for the diffusion models.
        try (var g = GradMode.noGrad(); var fp32 = model.backend().activations(WeightDtype.FP32)) {
            // Images may come from another device than the reward model's; preprocessing quantises on the host.
            Tensor pixels = processor.preprocess(images).to(model.backend());
            return head.forward(ClipModel.normalize(model.imageEmbeds(pixels))).toFloatArray();
        }
    }
}
