package io.texforce.cli;

import io.texforce.rewards.Reward;
import io.texforce.rewards.RewardFactory;
import io.texforce.rewards.RewardOptions;
import io.texforce.tensor.Backend;
import io.texforce.tensor.cpu.CpuBackend;
import picocli.CommandLine.Option;

import java.net.URI;
import java.net.URISyntaxException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;

/** The reward options shared by {@code score}, {@code train} and {@code evaluate} (a picocli mixin). */
final class RewardArgs {
    @Option(names = "--reward", required = true, paramLabel = "NAME",
            description = "Reward: jpeg-compressibility, jpeg-incompressibility, aesthetic, clip-score, pickscore, "
                    + "hpsv2, http or weighted.")
    String reward;

    @Option(names = "--reward-model", paramLabel = "PATH",
            description = "CLIP model of the reward: a transformers CLIPModel folder, or an OpenAI/open_clip "
                    + "checkpoint (.safetensors/.pt/.pth/.bin) with its config and tokenizer files beside it.")
    Path rewardModel;

    @Option(names = "--aesthetic-head", paramLabel = "PATH",
            description = "LAION aesthetic MLP for --reward aesthetic (.pth or .safetensors).")
    Path aestheticHead;

    @Option(names = "--reward-url", paramLabel = "URL",
            description = "Reward service for --reward http (protocol: docs/rewards-http.md).")
    String rewardUrl;

    @Option(names = "--reward-weight", paramLabel = "NAME=WEIGHT",
            description = "A term of --reward weighted; repeat for each term.")
    List<String> weights = new ArrayList<>();

    /** Builds the reward with its models on the CPU, turning bad options into user errors. */
    Reward create() {
        return create(CpuBackend.INSTANCE);
    }

    /** Builds the reward with its models (CLIP towers, aesthetic head) on {@code backend}. */
    Reward create(Backend backend) {
        for (Path p : new Path[]{rewardModel, aestheticHead}) {
            if (p != null && !Files.exists(p)) {
                throw new UserError(p + " does not exist");
            }
        }
        return new RewardFactory(new RewardOptions(rewardModel, aestheticHead, url(), weights(), backend))
                .create(reward);
    }

    private URI url() {
        if (rewardUrl == null) {
            return null;
        }
        try {
            return new URI(rewardUrl);
        } catch (URISyntaxException e) {
            throw new UserError("--reward-url '" + rewardUrl + "' is not a URL: " + e.getMessage());
        }
    }

    private Map<String, Float> weights() {
        Map<String, Float> out = new LinkedHashMap<>();
        for (String spec : weights) {
            int eq = spec.lastIndexOf('=');
            try {
                if (eq <= 0) {
                    throw new NumberFormatException();
                }
                out.put(spec.substring(0, eq), Float.parseFloat(spec.substring(eq + 1)));
            } catch (NumberFormatException e) {
                throw new UserError("--reward-weight '" + spec + "' is not NAME=WEIGHT (e.g. aesthetic=1.5)");
            }
        }
        return out;
    }
}
