package io.texforce.rewards;

import io.texforce.clip.tokenizer.ClipTokenizer;
import io.texforce.rewards.clip.AestheticHead;
import io.texforce.rewards.clip.ClipImageProcessor;
import io.texforce.rewards.clip.ClipModel;
import io.texforce.rewards.clip.ClipModelConfig;
import io.texforce.rewards.http.HttpReward;
import io.texforce.rewards.http.HttpRewardConfig;

import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.HashMap;
import java.util.List;
import java.util.Map;

/**
 * Builds rewards by name, as the command line names them:
 * <ul>
 *   <li>{@code jpeg-compressibility}, {@code jpeg-incompressibility}: no options;</li>
 *   <li>{@code aesthetic}: reward model (CLIP ViT-L/14) and aesthetic head;</li>
 *   <li>{@code clip-score}, {@code pickscore}: reward model (a transformers folder with its tokenizer, or an
 *       open_clip file with its config and tokenizer files beside it);</li>
 *   <li>{@code hpsv2}: reward model (HPSv2's open_clip checkpoint, ViT-H-14 unless a config lies beside it);</li>
 *   <li>{@code http}: url;</li>
 *   <li>{@code weighted}: weights, each term built from the same options.</li>
 * </ul>
 * One factory loads each CLIP model and tokenizer once, so {@code weighted} terms on the same model share them.
 */
public final class RewardFactory {
    /** The names {@link #create} accepts. */
    public static final List<String> NAMES = List.of("jpeg-compressibility", "jpeg-incompressibility", "aesthetic",
            "clip-score", "pickscore", "hpsv2", "http", "weighted");

    private final RewardOptions options;
    private final Map<Path, ClipModel> models = new HashMap<>();
    private final Map<Path, ClipTokenizer> tokenizers = new HashMap<>();

    public RewardFactory(RewardOptions options) {
        this.options = options;
    }

    /** The reward called {@code name}, or an error naming the option it lacks. */
    public Reward create(String name) {
        return switch (name) {
            case "jpeg-compressibility" -> JpegSize.compressibility();
            case "jpeg-incompressibility" -> JpegSize.incompressibility();
            case "aesthetic" -> {
                Path path = require(options.rewardModel(), name, "--reward-model (CLIP ViT-L/14)");
                Path head = require(options.aestheticHead(), name, "--aesthetic-head (sac+logos+ava1-l14-linearMSE.pth)");
                ClipModel model = model(path);
                yield new AestheticScore(model, processor(path, model), AestheticHead.load(head, options.backend()));
            }
            case "clip-score" -> {
                Path path = require(options.rewardModel(), name, "--reward-model (a CLIP model)");
                ClipModel model = model(path);
                yield ClipSimilarity.clipScore(model, processor(path, model), tokenizer(path), false);
            }
            case "pickscore" -> {
                Path path = require(options.rewardModel(), name, "--reward-model (the PickScore_v1 folder)");
                ClipModel model = model(path);
                yield ClipSimilarity.pickScore(model, processor(path, model), tokenizer(path));
            }
            case "hpsv2" -> {
                Path path = require(options.rewardModel(), name, "--reward-model (HPS_v2_compressed.pt or its"
                        + " safetensors conversion)");
                ClipModel model = models.computeIfAbsent(path, this::loadHps);
                yield ClipSimilarity.hpsV2(model,
                        ClipImageProcessor.longestEdgePadded(model.config().vision().imageSize()), tokenizer(path));
            }
            case "http" -> new HttpReward(HttpRewardConfig.of(require(options.url(), name, "--reward-url")));
            case "weighted" -> {
                if (options.weights().isEmpty()) {
                    throw new IllegalArgumentException("reward 'weighted' needs its terms: --reward-weight NAME=WEIGHT,"
                            + " repeated");
                }
                List<WeightedSum.Term> terms = new ArrayList<>();
                options.weights().forEach((term, w) -> {
                    if (term.equals("weighted")) {
                        throw new IllegalArgumentException("a weighted reward cannot contain 'weighted'");
                    }
                    terms.add(new WeightedSum.Term(create(term), w));
                });
                yield new WeightedSum(terms);
            }
            default -> throw new IllegalArgumentException("unknown reward '" + name + "' (known: "
                    + String.join(", ", NAMES) + ")");
        };
    }

    private static <T> T require(T value, String reward, String option) {
        if (value == null) {
            throw new IllegalArgumentException("reward '" + reward + "' needs " + option);
        }
        return value;
    }

    private ClipModel model(Path path) {
        return models.computeIfAbsent(path, p -> ClipModel.load(p, options.backend()));
    }

    /** HPSv2 checkpoints carry no config: open_clip's ViT-H-14 unless one lies beside the file. */
    private ClipModel loadHps(Path path) {
        if (Files.isDirectory(path)) {
            return ClipModel.load(path, options.backend());
        }
        String name = path.getFileName().toString();
        String stem = name.contains(".") ? name.substring(0, name.lastIndexOf('.')) : name;
        for (Path config : List.of(path.resolveSibling(stem + "_config.json"),
                path.resolveSibling("open_clip_config.json"))) {
            if (Files.isRegularFile(config)) {
                return ClipModel.loadOpenClip(path, ClipModelConfig.loadOpenClip(config), options.backend());
            }
        }
        return ClipModel.loadOpenClip(path, ClipModelConfig.openClipPreset("ViT-H-14"), options.backend());
    }

    /** The folder's preprocessor_config.json when it has one, else CLIP's defaults at the model's input size. */
    private static ClipImageProcessor processor(Path path, ClipModel model) {
        Path dir = Files.isDirectory(path) ? path : path.toAbsolutePath().getParent();
        Path config = dir.resolve("preprocessor_config.json");
        return Files.isRegularFile(config) ? ClipImageProcessor.load(config)
                : ClipImageProcessor.clip(model.config().vision().imageSize());
    }

    /** CLIP's BPE tokenizer from the model folder (or its tokenizer/ subfolder), or beside a checkpoint file. */
    private ClipTokenizer tokenizer(Path path) {
        Path dir = Files.isDirectory(path) ? path : path.toAbsolutePath().getParent();
        for (Path candidate : List.of(dir, dir.resolve("tokenizer"))) {
            if (ClipTokenizer.isTokenizerFolder(candidate)) {
                return tokenizers.computeIfAbsent(candidate, ClipTokenizer::load);
            }
        }
        throw new IllegalArgumentException("no CLIP tokenizer (vocab.json and merges.txt, or tokenizer.json) in " + dir
                + " or its tokenizer/ folder: put the tokenizer files of openai/clip-vit-large-patch14 there");
    }
}
