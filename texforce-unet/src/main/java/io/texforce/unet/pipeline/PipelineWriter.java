package io.texforce.unet.pipeline;

import com.fasterxml.jackson.databind.ObjectMapper;
import com.fasterxml.jackson.databind.SerializationFeature;
import com.fasterxml.jackson.databind.node.ObjectNode;
import io.texforce.tensor.Tensor;
import io.texforce.tensor.io.AtomicFolder;
import io.texforce.tensor.io.ComponentWeights;
import io.texforce.tensor.io.DType;
import io.texforce.tensor.io.SafeTensorsWriter;
import io.texforce.tensor.nn.LoraLayer;
import io.texforce.tensor.nn.Module;
import io.texforce.tensor.nn.CheckpointSource;

import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.List;
import java.util.Map;
import java.util.stream.Stream;

/**
 * Saves a loaded pipeline, LoRA adapters merged into its weights, as a new diffusers folder that diffusers (and any
 * tool reading diffusers folders) loads without knowing about the adapters: the weights of the text encoder, U-Net and
 * VAE as they are in memory, and the source folder's configs, tokenizer and scheduler. The safety checker and feature
 * extractor are not carried over ({@code model_index.json} says so).
 */
public final class PipelineWriter {
    private static final ObjectMapper JSON = new ObjectMapper().enable(SerializationFeature.INDENT_OUTPUT);
    private static final List<String> COMPONENTS = List.of("text_encoder", "unet", "vae");

    private PipelineWriter() {
    }

    /**
     * Writes {@code pipeline}, loaded from {@code source} (with {@code variant}, or null), to the new folder
     * {@code out}. Each tensor is stored in {@code dtype}, or with null in the dtype the source file stores it in.
     *
     * @throws IllegalArgumentException when an attached LoRA adapter is not merged (it would be lost), or {@code out}
     *                                  exists
     */
    public static void write(StableDiffusionPipeline pipeline, Path source, String variant, Path out, DType dtype) {
        if (dtype != null && dtype != DType.F32 && dtype != DType.F16 && dtype != DType.BF16) {
            throw new IllegalArgumentException("weights are saved as F32, F16 or BF16, not " + dtype);
        }
        Map<String, Module> models = Map.of("text_encoder", pipeline.textEncoder(), "unet", pipeline.unet(),
                "vae", pipeline.vae());
        for (var e : models.entrySet()) {
            requireMerged(e.getKey(), e.getValue());
        }
        AtomicFolder.create(out, dir -> {
            for (String c : COMPONENTS) {
                Files.createDirectories(dir.resolve(c));
                Files.copy(source.resolve(c).resolve("config.json"), dir.resolve(c).resolve("config.json"));
                String stem = c.equals("text_encoder") ? "model" : "diffusion_pytorch_model";
                writeWeights(models.get(c), source.resolve(c), stem, variant, dtype,
                        dir.resolve(c).resolve(stem + ".safetensors"));
            }
            for (String folder : List.of("tokenizer", "scheduler")) {
                copyFolder(source.resolve(folder), dir.resolve(folder));
            }
            ObjectNode index = Files.isRegularFile(source.resolve("model_index.json"))
                    ? (ObjectNode) JSON.readTree(source.resolve("model_index.json").toFile())
                    : JSON.createObjectNode().put("_class_name", "StableDiffusionPipeline");
            index.putArray("safety_checker").addNull().addNull();
            index.putArray("feature_extractor").addNull().addNull();
            index.put("requires_safety_checker", false);
            JSON.writeValue(dir.resolve("model_index.json").toFile(), index);
            StableDiffusionPipeline.load(dir);  // every tensor back under its name and shape, nothing missing
        });
    }

    private static void requireMerged(String component, Module model) {
        model.namedModules().forEach((path, m) -> {
            if (m instanceof LoraLayer l) {
                l.lora().all().forEach(a -> {
                    if (!a.merged()) {
                        throw new IllegalArgumentException("the " + component + " LoRA adapter '" + a.name() + "' on "
                                + path + " is not merged: merge it (LoraNetwork.merge()) or detach it before saving");
                    }
                });
            }
        });
    }

    private static void writeWeights(Module model, Path sourceFolder, String stem, String variant, DType dtype,
                                     Path file) {
        SafeTensorsWriter w = new SafeTensorsWriter();
        try (CheckpointSource src = ComponentWeights.find(sourceFolder, stem, variant).open()) {
            for (Map.Entry<String, Tensor> e : model.namedParameters().entrySet()) {
                DType stored = src.contains(e.getKey()) ? src.storedDType(e.getKey()) : null;
                DType as = dtype != null ? dtype : DType.floatStorage(stored);
                w.put(e.getKey(), e.getValue().detach(), as);
            }
        }
        w.metadata("format", "pt");
        w.write(file);
    }

    private static void copyFolder(Path from, Path to) throws IOException {
        Files.createDirectories(to);
        try (Stream<Path> files = Files.list(from)) {
            for (Path f : files.filter(Files::isRegularFile).toList()) {
                Files.copy(f, to.resolve(f.getFileName()));
            }
        }
    }
}
