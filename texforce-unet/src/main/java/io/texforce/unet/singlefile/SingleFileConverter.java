package io.texforce.unet.singlefile;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import com.fasterxml.jackson.databind.SerializationFeature;
import com.fasterxml.jackson.databind.node.ObjectNode;
import io.texforce.clip.text.ClipTextConfig;
import io.texforce.clip.text.ClipTextModel;
import io.texforce.clip.tokenizer.ClipTokenizer;
import io.texforce.tensor.WeightDtype;
import io.texforce.tensor.cpu.CpuBackend;
import io.texforce.tensor.io.AtomicFolder;
import io.texforce.tensor.io.DType;
import io.texforce.tensor.io.SafeTensorsWriter;
import io.texforce.tensor.nn.WeightSource;
import io.texforce.unet.model.UNet2DConditionModel;
import io.texforce.unet.model.UNetConfig;
import io.texforce.unet.scheduler.SchedulerConfig;
import io.texforce.unet.vae.AutoencoderKL;
import io.texforce.unet.vae.VaeConfig;

import java.io.IOException;
import java.io.InputStream;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import java.util.Locale;

/**
 * Turns an original single-file Stable Diffusion checkpoint (CompVis LDM / A1111 layout: {@code model.diffusion_model.*},
 * {@code first_stage_model.*}, {@code cond_stage_model.*}, as {@code v1-5-pruned-emaonly.safetensors} or a
 * community fine-tune ships) into a diffusers pipeline folder, as diffusers' {@code from_single_file} and its
 * conversion script do. SD 1.x and SD 2.x are told apart by their text encoder (transformers CLIP vs OpenCLIP); the
 * configs are SD 1.5's or SD 2.1's (bundled) unless {@link Options#configFrom} names a diffusers folder whose configs
 * (and tokenizer, where it has one) fit the file. The folder is written beside its final name and renamed into place only after every
 * model loaded from it, so a failed conversion leaves nothing behind.
 */
public final class SingleFileConverter {
    private static final String UNET = "model.diffusion_model.";
    private static final String VAE = "first_stage_model.";
    private static final String EMA = "model_ema.";
    private static final String RESOURCES = "/io/texforce/unet/singlefile/";
    private static final ObjectMapper JSON = new ObjectMapper().enable(SerializationFeature.INDENT_OUTPUT);
    private static final System.Logger LOG = System.getLogger(SingleFileConverter.class.getName());

    /** The two model families a single file can hold, with the bundled configs of their reference release. */
    public enum Family {
        SD1("sd15", "SD 1.x"), SD2("sd21", "SD 2.x");

        private final String configs;
        private final String label;

        Family(String configs, String label) {
            this.configs = configs;
            this.label = label;
        }

        public String label() {
            return label;
        }
    }

    /**
     * @param configFrom     a diffusers pipeline folder whose configs and tokenizer to use, or null for the bundled
     *                       SD 1.5 / SD 2.1 ones
     * @param predictionType epsilon, v_prediction or sample to override the scheduler config's (SD 2.1's bundled
     *                       config says v_prediction, right for the 768 px models; SD 2.x "base" 512 px models are
     *                       epsilon), or null
     * @param imageSize      the default image side in pixels (the U-Net's sample_size times 8), or 0 to keep it
     * @param ema            take the U-Net from the file's EMA copy ({@code model_ema.*}) instead of the trained one
     */
    public record Options(Path configFrom, String predictionType, int imageSize, boolean ema) {
        public static Options defaults() {
            return new Options(null, null, 0, false);
        }
    }

    /** What a conversion wrote: the folder, the family, tensors per component and keys left out. */
    public record Result(Path folder, Family family, int unetTensors, int vaeTensors, int textEncoderTensors,
                         int ignoredKeys) {
    }

    private SingleFileConverter() {
    }

    /** The family of a checkpoint, or an error saying what the file seems to be instead. */
    public static Family detect(WeightSource checkpoint) {
        boolean sd2 = checkpoint.contains(LdmTextEncoderLayout.OPEN_CLIP_PREFIX + "token_embedding.weight");
        boolean sd1 = checkpoint.keys().stream().anyMatch(k -> k.startsWith(LdmTextEncoderLayout.SD1_PREFIX));
        boolean unet = checkpoint.keys().stream().anyMatch(k -> k.startsWith(UNET));
        if (checkpoint.keys().stream().anyMatch(k -> k.startsWith("conditioner.embedders."))) {
            throw new IllegalArgumentException(checkpoint.describe() + " is an SDXL checkpoint (conditioner.embedders.*);"
                    + " only SD 1.x / 2.x single files are converted");
        }
        if (!unet || sd1 == sd2) {
            throw new IllegalArgumentException(checkpoint.describe() + " is not an SD 1.x / 2.x single-file checkpoint:"
                    + " expected model.diffusion_model.* with cond_stage_model.transformer.* (SD 1.x) or"
                    + " cond_stage_model.model.* (SD 2.x); its first keys are "
                    + checkpoint.keys().stream().sorted().limit(5).toList());
        }
        return sd2 ? Family.SD2 : Family.SD1;
    }

    /** Converts {@code checkpoint} into a new diffusers folder {@code out} (which must not exist yet). */
    public static Result convert(WeightSource checkpoint, Path out, Options options) {
        Plan plan = plan(checkpoint, options);
        AtomicFolder.create(out, temp -> {
            plan.configs.write(temp);
            write(plan.unet, temp.resolve("unet/diffusion_pytorch_model.safetensors"));
            write(plan.vae, temp.resolve("vae/diffusion_pytorch_model.safetensors"));
            write(plan.textEncoder, temp.resolve("text_encoder/model.safetensors"));
            validate(temp, checkpoint.describe(), plan.configs.describe(""), out);
        });
        LOG.log(System.Logger.Level.INFO, "{0}: {1} checkpoint with {2}; {3} keys besides the models left out",
                checkpoint.describe(), plan.family.label(), plan.configs.describe(""), plan.ignored);
        return new Result(out, plan.family, plan.unet.keys().size(), plan.vae.keys().size(),
                plan.textEncoder.keys().size(), plan.ignored);
    }

    /** Loading every model checks each tensor's shape against the configs and that none is left over. */
    private static void validate(Path temp, String file, String configs, Path out) {
        try {
            ClipTokenizer.load(temp.resolve("tokenizer"));
            ClipTextModel.load(temp.resolve("text_encoder"), CpuBackend.INSTANCE, WeightDtype.BF16);
            AutoencoderKL.load(temp.resolve("vae"), CpuBackend.INSTANCE, WeightDtype.BF16);
            UNet2DConditionModel.load(temp.resolve("unet"), CpuBackend.INSTANCE, WeightDtype.BF16);
        } catch (IllegalArgumentException e) {
            throw new IllegalArgumentException(file + " does not fit " + configs + ": "
                    + e.getMessage().replace(temp.toString(), out.toString()), e);
        }
    }

    /** Every model tensor of a checkpoint under its diffusers name, with the configs it will be written with. */
    record Plan(Family family, ConfigSet configs, MappedWeights unet, MappedWeights vae, MappedWeights textEncoder,
                int ignored) {
    }

    static Plan plan(WeightSource checkpoint, Options options) {
        Family family = detect(checkpoint);
        ConfigSet configs = ConfigSet.of(family, options);
        UNetConfig unetConfig = UNetConfig.fromJson(configs.unet, configs.describe("unet/config.json"));
        VaeConfig vaeConfig = VaeConfig.fromJson(configs.vae, configs.describe("vae/config.json"));
        ClipTextConfig textConfig = ClipTextConfig.fromJson(configs.textEncoder);
        SchedulerConfig.fromJson(configs.scheduler.toString(), configs.describe("scheduler/scheduler_config.json"));

        String file = checkpoint.describe();
        MappedWeights unet = new MappedWeights(checkpoint, file + " (U-Net)");
        MappedWeights vae = new MappedWeights(checkpoint, file + " (VAE)");
        MappedWeights text = new MappedWeights(checkpoint, file + " (text encoder)");
        PrefixLayout unetLayout = LdmUNetLayout.of(unetConfig);
        PrefixLayout vaeLayout = LdmVaeLayout.of(vaeConfig);
        List<String> unplaced = new ArrayList<>();
        int ignored = 0;
        for (String key : checkpoint.keys().stream().sorted().toList()) {
            if (key.startsWith(UNET)) {
                String source = options.ema() ? emaKey(checkpoint, key) : key;
                place(unet, unetLayout.map(key.substring(UNET.length())), source, key, unplaced);
            } else if (key.startsWith(VAE)) {
                place(vae, vaeLayout.map(key.substring(VAE.length())), key, key, unplaced);
            } else if (family == Family.SD1 && key.startsWith(LdmTextEncoderLayout.SD1_PREFIX)) {
                LdmTextEncoderLayout.mapSd1(text, key);
            } else if (family == Family.SD2 && key.startsWith(LdmTextEncoderLayout.OPEN_CLIP_PREFIX)) {
                if (!LdmTextEncoderLayout.mapOpenClip(text, key, textConfig)) {
                    unplaced.add(key);
                }
            } else {
                ignored++;  // schedule buffers (betas, alphas_cumprod), EMA copies and their counters
            }
        }
        if (!unplaced.isEmpty()) {
            throw new IllegalArgumentException(file + ": " + unplaced.size() + " tensors have no place in a "
                    + family.label() + " pipeline of " + configs.describe("") + ", e.g. "
                    + unplaced.stream().limit(5).toList() + " (a different architecture, or configs that do not fit)");
        }
        if (vae.isEmpty()) {
            throw new IllegalArgumentException(file + " holds no VAE (first_stage_model.*)");
        }
        return new Plan(family, configs, unet, vae, text, ignored);
    }

    private static void place(MappedWeights target, PrefixLayout.Mapped mapped, String source, String key,
                              List<String> unplaced) {
        if (mapped == null) {
            unplaced.add(key);
        } else if (mapped.squeeze()) {
            target.putSqueezed(mapped.key(), source);
        } else {
            target.put(mapped.key(), source);
        }
    }

    /** The EMA copy of a U-Net key: {@code model_ema.} and the module path with its dots dropped. */
    private static String emaKey(WeightSource checkpoint, String key) {
        String ema = EMA + key.substring("model.".length()).replace(".", "");
        if (!checkpoint.contains(ema)) {
            throw new IllegalArgumentException(checkpoint.describe() + " has no EMA copy of " + key + " (looked for "
                    + ema + "); convert without --ema");
        }
        return ema;
    }

    private static void write(MappedWeights weights, Path file) throws IOException {
        Files.createDirectories(file.getParent());
        SafeTensorsWriter w = new SafeTensorsWriter();
        for (String key : weights.keys()) {
            DType stored = weights.storedDType(key);
            // loaded one at a time while the file is written: a 3.4 GB U-Net never sits on the heap whole
            w.putLazy(key, weights.shape(key), DType.floatStorage(stored), () -> weights.load(key));
        }
        w.metadata("format", "pt");
        w.write(file);
    }

    /** The configs and tokenizer files of the folder to write, bundled or from a diffusers folder. */
    static final class ConfigSet {
        final ObjectNode unet;
        final ObjectNode vae;
        final ObjectNode textEncoder;
        final ObjectNode scheduler;
        final ObjectNode tokenizerConfig;
        final ObjectNode specialTokens;
        final Family family;
        final Path from;

        private ConfigSet(Family family, Path from) {
            this.family = family;
            this.from = from;
            this.unet = read("unet/config.json");
            this.vae = read("vae/config.json");
            this.textEncoder = read("text_encoder/config.json");
            this.scheduler = read("scheduler/scheduler_config.json");
            this.tokenizerConfig = read("tokenizer/tokenizer_config.json");
            this.specialTokens = read("tokenizer/special_tokens_map.json");
        }

        static ConfigSet of(Family family, Options o) {
            ConfigSet c = new ConfigSet(family, o.configFrom());
            if (o.predictionType() != null) {
                String p = o.predictionType().toLowerCase(Locale.ROOT);
                if (!List.of("epsilon", "v_prediction", "sample").contains(p)) {
                    throw new IllegalArgumentException("prediction type '" + o.predictionType()
                            + "' is not epsilon, v_prediction or sample");
                }
                c.scheduler.put("prediction_type", p);
            }
            if (o.imageSize() != 0) {
                if (o.imageSize() < 0 || o.imageSize() % 8 != 0) {
                    throw new IllegalArgumentException("image size " + o.imageSize() + " is not a positive multiple of 8");
                }
                c.unet.put("sample_size", o.imageSize() / 8);
            }
            return c;
        }

        String describe(String file) {
            if (from != null && (file.isEmpty() || Files.isRegularFile(from.resolve(file)))) {
                return file.isEmpty() ? "the configs of " + from + " (the bundled " + family.configs + " ones for what"
                        + " it lacks)" : from.resolve(file).toString();
            }
            return "the bundled " + family.configs + " configs" + (file.isEmpty() ? "" : " (" + file + ")");
        }

        /** {@code file} of the given folder where it has one, else the bundled one. */
        private InputStream open(String file) throws IOException {
            if (from != null && Files.isRegularFile(from.resolve(file))) {
                return Files.newInputStream(from.resolve(file));
            }
            String bundled = file.equals("tokenizer/vocab.json") || file.equals("tokenizer/merges.txt")
                    ? "clip-tokenizer/" + file.substring("tokenizer/".length()) : family.configs + "/" + file;
            return SingleFileConverter.class.getResourceAsStream(RESOURCES + bundled);
        }

        private ObjectNode read(String file) {
            try (InputStream in = open(file)) {
                if (in == null) {
                    throw new IllegalStateException("bundled config " + family.configs + "/" + file + " missing");
                }
                JsonNode n = JSON.readTree(in);
                if (!(n instanceof ObjectNode o)) {
                    throw new IllegalArgumentException(describe(file) + " is not a JSON object");
                }
                return o;
            } catch (IOException e) {
                throw new IllegalArgumentException("cannot read " + describe(file) + ": " + e.getMessage(), e);
            }
        }

        void write(Path dir) throws IOException {
            json(dir.resolve("unet/config.json"), unet);
            json(dir.resolve("vae/config.json"), vae);
            json(dir.resolve("text_encoder/config.json"), textEncoder);
            json(dir.resolve("scheduler/scheduler_config.json"), scheduler);
            json(dir.resolve("tokenizer/tokenizer_config.json"), tokenizerConfig);
            json(dir.resolve("tokenizer/special_tokens_map.json"), specialTokens);
            for (String f : List.of("tokenizer/vocab.json", "tokenizer/merges.txt")) {
                try (InputStream in = open(f)) {
                    Files.copy(in, dir.resolve(f));
                }
            }
            ObjectNode index = JSON.createObjectNode();
            index.put("_class_name", "StableDiffusionPipeline");
            index.putArray("scheduler").add("diffusers").add(scheduler.path("_class_name").asText("DDIMScheduler"));
            index.putArray("text_encoder").add("transformers").add("CLIPTextModel");
            index.putArray("tokenizer").add("transformers").add("CLIPTokenizer");
            index.putArray("unet").add("diffusers").add("UNet2DConditionModel");
            index.putArray("vae").add("diffusers").add("AutoencoderKL");
            index.putArray("safety_checker").addNull().addNull();
            index.putArray("feature_extractor").addNull().addNull();
            index.put("requires_safety_checker", false);
            json(dir.resolve("model_index.json"), index);
        }

        private static void json(Path file, JsonNode n) throws IOException {
            Files.createDirectories(file.getParent());
            JSON.writeValue(file.toFile(), n);
        }
    }
}
