package io.texforce.unet.singlefile;

import io.texforce.tensor.Tensor;
import io.texforce.tensor.io.DType;
import io.texforce.tensor.io.SafeTensorsWriter;
import io.texforce.tensor.nn.CheckpointSource;
import io.texforce.tensor.nn.LoraLayer;
import io.texforce.tensor.nn.Module;
import io.texforce.unet.pipeline.StableDiffusionPipeline;

import java.nio.file.Path;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.TreeMap;
import java.util.function.Function;
import java.util.regex.Matcher;
import java.util.regex.Pattern;

/**
 * Writes a loaded pipeline as one original-layout (CompVis LDM / A1111) checkpoint, the inverse of
 * {@link SingleFileConverter}, as diffusers' {@code scripts/convert_diffusers_to_original_stable_diffusion.py} does:
 * U-Net under {@code model.diffusion_model.}, VAE under {@code first_stage_model.} (mid-block attention as 1x1
 * convolutions), and the text encoder as transformers CLIP under {@code cond_stage_model.transformer.} (SD 1.x) or
 * as OpenCLIP under {@code cond_stage_model.model.} with fused q/k/v (SD 2.x).
 */
public final class SingleFileExporter {
    private static final Pattern LAYER = Pattern.compile("text_model\\.encoder\\.layers\\.(\\d+)\\.(.+)");
    private static final List<String[]> OPEN_CLIP_LAYER = List.of(
            new String[]{"layer_norm1.", "ln_1."}, new String[]{"layer_norm2.", "ln_2."},
            new String[]{"self_attn.out_proj.", "attn.out_proj."}, new String[]{"mlp.fc1.", "mlp.c_fc."},
            new String[]{"mlp.fc2.", "mlp.c_proj."});

    /** How the text encoder is laid out in the file. */
    public enum TextLayout {
        /** transformers' CLIPTextModel names (SD 1.x). */
        TRANSFORMERS,
        /** OpenCLIP's names with fused q/k/v (SD 2.x). */
        OPEN_CLIP;

        /** SD 2.x's OpenCLIP text encoder is the gelu one; SD 1.x's CLIP uses quick_gelu. */
        public static TextLayout of(StableDiffusionPipeline pipe) {
            return pipe.textEncoder().config().hiddenAct().equals("gelu") ? OPEN_CLIP : TRANSFORMERS;
        }
    }

    private SingleFileExporter() {
    }

    /**
     * Writes {@code pipe}, loaded from the diffusers folder {@code source} (weights {@code variant}, or null), to
     * {@code file}: every tensor in {@code dtype}, or with null in the dtype the source folder stores it in.
     */
    public static int export(StableDiffusionPipeline pipe, Path source, String variant, Path file, TextLayout layout,
                             DType dtype) {
        try (CheckpointSource text = CheckpointSource.openComponent(source.resolve("text_encoder"), "model", variant);
             CheckpointSource unet = CheckpointSource.openComponent(source.resolve("unet"), "diffusion_pytorch_model",
                     variant);
             CheckpointSource vae = CheckpointSource.openComponent(source.resolve("vae"), "diffusion_pytorch_model",
                     variant)) {
            Map<String, CheckpointSource> sources = Map.of("text_encoder/", text, "unet/", unet, "vae/", vae);
            return export(pipe, file, layout, dtype, key -> {
                int slash = key.indexOf('/') + 1;
                CheckpointSource src = sources.get(key.substring(0, slash));
                String name = key.substring(slash);
                return src.contains(name) ? src.storedDType(name) : null;
            });
        }
    }

    /**
     * Writes {@code pipe} (adapters merged or none attached) to {@code file}, every tensor in {@code dtype}, or with
     * null in the dtype {@code storedDType} reports for its diffusers name (F32 when it reports none). Returns the
     * number of tensors written.
     */
    public static int export(StableDiffusionPipeline pipe, Path file, TextLayout layout, DType dtype,
                             Function<String, DType> storedDType) {
        Map<String, Tensor> out = new TreeMap<>();
        Map<String, DType> types = new LinkedHashMap<>();
        PrefixLayout unet = LdmUNetLayout.of(pipe.unet().config()).inverse();
        PrefixLayout vae = LdmVaeLayout.of(pipe.vae().config()).inverse();
        place(pipe.unet(), "unet/", unet, "model.diffusion_model.", out, types, storedDType);
        place(pipe.vae(), "vae/", vae, "first_stage_model.", out, types, storedDType);
        requireMerged(pipe.textEncoder());
        Map<String, Tensor> text = pipe.textEncoder().namedParameters();
        if (layout == TextLayout.TRANSFORMERS) {
            text.forEach((k, t) -> {
                out.put(LdmTextEncoderLayout.SD1_PREFIX + k, t);
                types.put(LdmTextEncoderLayout.SD1_PREFIX + k, storedDType.apply("text_encoder/" + k));
            });
        } else {
            openClip(text, out, types, storedDType);
        }
        SafeTensorsWriter w = new SafeTensorsWriter();
        out.forEach((k, t) -> {
            w.put(k, t.detach(), dtype != null ? dtype : DType.floatStorage(types.get(k)));
        });
        w.metadata("format", "pt");
        w.write(file);
        return out.size();
    }

    private static void place(Module model, String component, PrefixLayout layout, String prefix,
                              Map<String, Tensor> out, Map<String, DType> types, Function<String, DType> storedDType) {
        requireMerged(model);
        model.namedParameters().forEach((k, t) -> {
            PrefixLayout.Mapped m = layout.map(k);
            if (m == null) {
                throw new IllegalStateException("no original name for " + component + k);
            }
            Tensor v = m.squeeze() && t.dim() == 2 ? t.reshape(t.size(0), t.size(1), 1, 1) : t;
            out.put(prefix + m.key(), v);
            types.put(prefix + m.key(), storedDType.apply(component + k));
        });
    }

    private static void openClip(Map<String, Tensor> text, Map<String, Tensor> out, Map<String, DType> types,
                                 Function<String, DType> storedDType) {
        String p = LdmTextEncoderLayout.OPEN_CLIP_PREFIX;
        Map<String, Tensor[]> qkv = new TreeMap<>();
        text.forEach((k, t) -> {
            DType d = storedDType.apply("text_encoder/" + k);
            String name = switch (k) {
                case "text_model.embeddings.token_embedding.weight" -> "token_embedding.weight";
                case "text_model.embeddings.position_embedding.weight" -> "positional_embedding";
                case "text_model.final_layer_norm.weight" -> "ln_final.weight";
                case "text_model.final_layer_norm.bias" -> "ln_final.bias";
                default -> null;
            };
            if (name == null) {
                Matcher m = LAYER.matcher(k);
                if (!m.matches()) {
                    throw new IllegalStateException("no OpenCLIP name for text_encoder/" + k);
                }
                String block = "transformer.resblocks." + m.group(1) + ".";
                String inner = m.group(2);
                Matcher proj = Pattern.compile("self_attn\\.([qkv])_proj\\.(weight|bias)").matcher(inner);
                if (proj.matches()) {
                    String fused = block + "attn.in_proj_" + proj.group(2);
                    qkv.computeIfAbsent(fused, x -> new Tensor[3])["qkv".indexOf(proj.group(1))] = t;
                    types.put(p + fused, d);
                    return;
                }
                for (String[] r : OPEN_CLIP_LAYER) {
                    if (inner.startsWith(r[0])) {
                        name = block + r[1] + inner.substring(r[0].length());
                        break;
                    }
                }
                if (name == null) {
                    throw new IllegalStateException("no OpenCLIP name for text_encoder/" + k);
                }
            }
            out.put(p + name, t);
            types.put(p + name, d);
        });
        qkv.forEach((k, parts) -> out.put(p + k, Tensor.concat(List.of(parts), 0)));
    }

    private static void requireMerged(Module model) {
        model.namedModules().forEach((path, m) -> {
            if (m instanceof LoraLayer l && l.lora().all().stream().anyMatch(a -> !a.merged())) {
                throw new IllegalArgumentException("a LoRA adapter on " + path + " is not merged: merge it"
                        + " (LoraNetwork.merge()) or detach it before exporting");
            }
        });
    }
}
