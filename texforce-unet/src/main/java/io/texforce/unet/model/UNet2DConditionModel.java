package io.texforce.unet.model;

import io.texforce.tensor.Backend;
import io.texforce.tensor.Functional;
import io.texforce.tensor.Tensor;
import io.texforce.tensor.WeightDtype;
import io.texforce.tensor.cpu.CpuBackend;
import io.texforce.tensor.lora.LoraConfig;
import io.texforce.tensor.lora.LoraNetwork;
import io.texforce.tensor.nn.Conv2d;
import io.texforce.tensor.nn.GroupNorm;
import io.texforce.tensor.nn.Module;
import io.texforce.tensor.nn.ModuleList;
import io.texforce.tensor.nn.CheckpointSource;
import io.texforce.tensor.nn.VarBuilder;
import io.texforce.tensor.nn.WeightSource;
import io.texforce.unet.nn.Activations;
import io.texforce.unet.nn.TimestepEmbedding;

import io.texforce.tensor.io.ComponentFolder;

import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import java.util.function.UnaryOperator;

/**
 * Stable Diffusion's conditional U-Net, diffusers' {@code UNet2DConditionModel}, built from its config and
 * weights with the diffusers key layout ({@code conv_in}, {@code time_embedding.linear_1}, {@code down_blocks.N},
 * {@code mid_block}, {@code up_blocks.N}, {@code conv_norm_out}, {@code conv_out}).
 */
public final class UNet2DConditionModel extends Module {
    /** The key prefix of U-Net LoRA tensors in diffusers/peft files. */
    public static final String LORA_COMPONENT = "unet";
    /** The kohya/A1111 name prefix of U-Net LoRA layers. */
    public static final String LORA_KOHYA_PREFIX = "lora_unet";

    private final UNetConfig config;
    private final Conv2d convIn;
    private final TimestepEmbedding timeEmbedding;
    private final ModuleList<UNetDownBlock> downBlocks;
    private final UNetMidBlock2DCrossAttn midBlock;
    private final ModuleList<UNetUpBlock> upBlocks;
    private final GroupNorm convNormOut;
    private final Conv2d convOut;
    private final UnaryOperator<Tensor> act;
    private boolean gradientCheckpointing;

    public UNet2DConditionModel(VarBuilder vb, UNetConfig c) {
        this.config = c;
        int[] boc = c.blockOutChannels();
        int n = c.blocks();
        this.convIn = child("conv_in", new Conv2d(vb.pp("conv_in"), c.inChannels(), boc[0], c.convInKernel(), 1,
                (c.convInKernel() - 1) / 2, true));
        this.timeEmbedding = child("time_embedding", new TimestepEmbedding(vb.pp("time_embedding"), boc[0],
                c.timeEmbedDim(), c.actFn()));
        this.downBlocks = child("down_blocks", new ModuleList<>());
        int out = boc[0];
        for (int i = 0; i < n; i++) {
            int in = out;
            out = boc[i];
            downBlocks.add(new UNetDownBlock(vb.pp("down_blocks").pp(i), c, i, in, out,
                    c.downBlockTypes().get(i).equals("CrossAttnDownBlock2D"), i < n - 1));
        }
        this.midBlock = child("mid_block", new UNetMidBlock2DCrossAttn(vb.pp("mid_block"), c));
        this.upBlocks = child("up_blocks", new ModuleList<>());
        out = boc[n - 1];
        for (int i = 0; i < n; i++) {
            int prev = out;
            out = boc[n - 1 - i];
            int in = boc[n - 1 - Math.min(i + 1, n - 1)];
            upBlocks.add(new UNetUpBlock(vb.pp("up_blocks").pp(i), c, i, in, out, prev,
                    c.upBlockTypes().get(i).equals("CrossAttnUpBlock2D"), i < n - 1));
        }
        this.convNormOut = child("conv_norm_out", new GroupNorm(vb.pp("conv_norm_out"), c.normNumGroups(), boc[0],
                c.normEps()));
        this.convOut = child("conv_out", new Conv2d(vb.pp("conv_out"), boc[0], c.outChannels(), c.convOutKernel(), 1,
                (c.convOutKernel() - 1) / 2, true));
        this.act = Activations.of(c.actFn());
    }

    /** Loads {@code unet/} of a pipeline folder (or the unet folder itself) onto the CPU. */
    public static UNet2DConditionModel load(Path dir) {
        return load(dir, CpuBackend.INSTANCE);
    }

    public static UNet2DConditionModel load(Path dir, Backend backend) {
        return load(dir, backend, WeightDtype.FP32);
    }

    /** Loads with the Linear and Conv2d weights stored in {@code weightDtype} (norms and biases stay fp32). */
    public static UNet2DConditionModel load(Path dir, Backend backend, WeightDtype weightDtype) {
        return load(dir, backend, weightDtype, null);
    }

    /**
     * Loads the weights saved as {@code variant} ({@code "fp16"}, {@code "non_ema"}, ...; null: the plain weights,
     * or the only variant the folder holds), as {@code from_pretrained(..., variant=)} does; see
     * {@link io.texforce.tensor.io.ComponentWeights}.
     */
    public static UNet2DConditionModel load(Path dir, Backend backend, WeightDtype weightDtype, String variant) {
        ComponentFolder component = ComponentFolder.resolve(dir, "unet");
        Path folder = component.folder();
        UNetConfig c = UNetConfig.load(component.config());
        try (CheckpointSource src = CheckpointSource.openComponent(folder, "diffusion_pytorch_model", variant)) {
            VarBuilder vb = VarBuilder.of(src, backend, weightDtype);
            UNet2DConditionModel model = new UNet2DConditionModel(vb, c);
            vb.checkAllUsed(k -> false);
            return model;
        }
    }

    /** A U-Net of the given config with weights from any source (e.g. random weights for benchmarks). */
    public static UNet2DConditionModel build(UNetConfig c, WeightSource source, Backend backend) {
        return build(c, source, backend, WeightDtype.FP32);
    }

    public static UNet2DConditionModel build(UNetConfig c, WeightSource source, Backend backend,
                                             WeightDtype weightDtype) {
        return new UNet2DConditionModel(VarBuilder.of(source, backend, weightDtype), c);
    }

    public UNetConfig config() {
        return config;
    }

    /**
     * Switches activation checkpointing on or off (diffusers' {@code enable_gradient_checkpointing}). When on and
     * grad mode is on, the forward pass keeps only the inputs of each layer and the backward pass re-runs the
     * layers one at a time: about one extra forward pass for most of the activation memory. Gradients are
     * bit-identical either way; with grad mode off it changes nothing.
     *
     * <p>The unit is one layer of a block: a resnet with the transformer after it (in the up path with the skip
     * concatenation before it), the last layer of a block with its down- or upsampler; the mid block, at 1/8 of
     * the resolution, is one unit. Every extra forward costs the same, so the choice is about memory: what stays
     * alive is the layer inputs plus the graph of the one layer being re-run. The inputs of down-block layers are
     * skip connections that the up path keeps anyway, so only the up blocks add one tensor per layer. Whole
     * blocks would re-run three resnets and transformers at full resolution at once (SD 1.5's last up block);
     * separate resnets and transformers (diffusers' units) would also keep each resnet's output and each
     * concatenation (up to three times the channels of a layer output) alive.
     */
    public void setGradientCheckpointing(boolean enabled) {
        this.gradientCheckpointing = enabled;
    }

    public boolean gradientCheckpointing() {
        return gradientCheckpointing;
    }

    /**
     * Predicts the noise (or v) for {@code sample} [B, in, H, W] at {@code timesteps} (one per row) given the text
     * embeddings {@code context} [B, 77, cross_attention_dim].
     */
    public Tensor forward(Tensor sample, float[] timesteps, Tensor context) {
        int b = sample.size(0);
        if (timesteps.length != b && timesteps.length != 1) {
            throw new IllegalArgumentException(timesteps.length + " timesteps for a batch of " + b);
        }
        float[] t = timesteps;
        if (t.length == 1 && b > 1) {
            t = new float[b];
            java.util.Arrays.fill(t, timesteps[0]);
        }
        Tensor tEmb = Functional.timestepEmbedding(t, config.blockOutChannels()[0], config.flipSinToCos(),
                config.freqShift(), 1f, 10000f).to(sample.backend());
        Tensor emb = timeEmbedding.forward(tEmb);
        Tensor h = config.centerInputSample() ? sample.mul(2f).sub(1f) : sample;
        h = convIn.forward(h);
        List<Tensor> skips = new ArrayList<>();
        skips.add(h);
        for (UNetDownBlock block : downBlocks) {
            h = block.forward(h, emb, context, skips, gradientCheckpointing);
        }
        h = midBlock.forward(h, emb, context, gradientCheckpointing);
        for (UNetUpBlock block : upBlocks) {
            h = block.forward(h, emb, context, skips, gradientCheckpointing);
        }
        return convOut.forward(act.apply(convNormOut.forward(h)));
    }

    /** Attaches the U-Net adapters of a LoRA file (peft, old diffusers, attention processors or kohya). */
    public LoraNetwork loadLora(Path file, String name, float weight) {
        return LoraNetwork.load(this, file, LORA_COMPONENT, LORA_KOHYA_PREFIX, name, weight);
    }

    /** Attaches a new trainable U-Net adapter. */
    public LoraNetwork createLora(String name, LoraConfig loraConfig, long seed) {
        return LoraNetwork.create(this, LORA_COMPONENT, name, loraConfig, seed);
    }
}
