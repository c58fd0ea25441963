package io.texforce.cli;

import com.fasterxml.jackson.databind.ObjectMapper;
import com.fasterxml.jackson.databind.node.ObjectNode;
import io.texforce.rewards.Reward;
import io.texforce.rewards.http.HttpRewardException;
import io.texforce.tensor.Tensor;
import io.texforce.tensor.io.Images;
import picocli.CommandLine.Command;
import picocli.CommandLine.Mixin;
import picocli.CommandLine.Option;

import java.io.IOException;
import java.io.UncheckedIOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.Collections;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;

/** {@code texforce score}: scores image files with a reward, one JSON line per image. */
@Command(name = "score", mixinStandardHelpOptions = true,
        description = "Score images with a reward; prints one JSON line per image: {\"image\": FILE, \"score\": S} "
                + "(score null where the reward could not score the image).")
final class ScoreCommand implements Runnable {
    private static final ObjectMapper JSON = new ObjectMapper();

    @Mixin
    RewardArgs rewardArgs;

    @Option(names = "--image", required = true, arity = "1..*", paramLabel = "FILE",
            description = "PNG or JPEG images.")
    List<Path> images;

    @Option(names = "--prompt", arity = "1..*", paramLabel = "P",
            description = "Prompts: one per image, or one for all (rewards that ignore prompts need none).")
    List<String> prompts = new ArrayList<>();

    @Mixin
    DeviceOption device;

    @Override
    public void run() {
        List<String> perImage = promptsPerImage();
        for (Path f : images) {
            if (!Files.isRegularFile(f)) {
                throw new UserError("image " + f + " does not exist");
            }
        }
        float[] scores = new float[images.size()];
        try (Reward reward = rewardArgs.create(device.backend())) {
            // Images of one size go to the reward as one batch.
            Map<List<Integer>, List<Integer>> bySize = new LinkedHashMap<>();
            List<Tensor> loaded = new ArrayList<>();
            for (int i = 0; i < images.size(); i++) {
                Tensor t = Images.load(List.of(images.get(i)));
                loaded.add(t);
                bySize.computeIfAbsent(List.of(t.size(2), t.size(3)), k -> new ArrayList<>()).add(i);
            }
            for (List<Integer> group : bySize.values()) {
                List<Tensor> batch = new ArrayList<>();
                List<String> batchPrompts = new ArrayList<>();
                for (int i : group) {
                    batch.add(loaded.get(i));
                    batchPrompts.add(perImage.get(i));
                }
                float[] s = reward.score(Tensor.concat(batch, 0), batchPrompts);
                for (int k = 0; k < group.size(); k++) {
                    scores[group.get(k)] = s[k];
                }
            }
        } catch (HttpRewardException e) {
            throw new UserError(e.getMessage());
        }
        for (int i = 0; i < images.size(); i++) {
            ObjectNode line = JSON.createObjectNode().put("image", images.get(i).toString());
            if (Float.isNaN(scores[i])) {
                line.putNull("score");
            } else {
                line.put("score", scores[i]);
            }
            try {
                System.out.println(JSON.writeValueAsString(line));
            } catch (IOException e) {
                throw new UncheckedIOException(e);
            }
        }
    }

    private List<String> promptsPerImage() {
        if (prompts.isEmpty()) {
            return Collections.nCopies(images.size(), "");
        }
        if (prompts.size() == 1) {
            return Collections.nCopies(images.size(), prompts.getFirst());
        }
        if (prompts.size() != images.size()) {
            throw new UserError(images.size() + " images but " + prompts.size() + " prompts (give one per image, or"
                    + " one for all)");
        }
        return prompts;
    }
}
