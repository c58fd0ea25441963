package io.texforce.rl.train;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import com.fasterxml.jackson.databind.node.ObjectNode;

import java.io.IOException;
import java.io.UncheckedIOException;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.StandardOpenOption;
import java.util.ArrayList;
import java.util.List;

/**
 * {@code metrics.jsonl}: one JSON object per epoch. On resume the file is cut back to the checkpoint's epoch, so a
 * line written by a run killed before its checkpoint never appears twice.
 */
final class MetricsLog {
    private static final ObjectMapper JSON = new ObjectMapper();

    private MetricsLog() {
    }

    static String line(EpochMetrics m) {
        ObjectNode n = JSON.createObjectNode();
        n.put("epoch", m.epoch());
        n.put("reward_mean", m.rewardMean());
        n.put("reward_std", m.rewardStd());
        n.put("eval_reward_mean", m.evalRewardMean());
        n.put("loss", m.loss());
        n.put("approx_kl", m.approxKl());
        n.put("clipfrac", m.clipFraction());
        n.put("lr", m.lr());
        n.put("samples_per_s", m.samplesPerSecond());
        n.put("dropped", m.dropped());
        n.put("epoch_s", m.epochSeconds());
        n.put("optimizer_steps", m.optimizerSteps());
        return n.toString();
    }

    static void append(Path file, EpochMetrics m) {
        try {
            Files.writeString(file, line(m) + "\n", StandardCharsets.UTF_8, StandardOpenOption.CREATE,
                    StandardOpenOption.APPEND, StandardOpenOption.SYNC);
        } catch (IOException e) {
            throw new UncheckedIOException("cannot write " + file + ": " + e.getMessage(), e);
        }
    }

    /** Epochs 1..{@code upTo} from an existing log. */
    static List<EpochMetrics> read(Path file, int upTo) {
        List<EpochMetrics> out = new ArrayList<>();
        if (!Files.isRegularFile(file)) {
            return out;
        }
        try {
            for (String l : Files.readAllLines(file)) {
                if (l.isBlank()) {
                    continue;
                }
                JsonNode n = JSON.readTree(l);
                int epoch = n.path("epoch").asInt();
                if (epoch <= upTo) {
                    out.add(new EpochMetrics(epoch, f(n, "reward_mean"), f(n, "reward_std"), f(n, "loss"),
                            f(n, "approx_kl"), f(n, "clipfrac"), f(n, "lr"), f(n, "samples_per_s"),
                            n.path("dropped").asInt(), f(n, "epoch_s"), f(n, "eval_reward_mean"),
                            n.path("optimizer_steps").asInt()));
                }
            }
        } catch (IOException e) {
            throw new UncheckedIOException("cannot read " + file + ": " + e.getMessage(), e);
        }
        return out;
    }

    private static float f(JsonNode n, String k) {
        return (float) n.path(k).asDouble(Double.NaN);
    }

    static void rewrite(Path file, List<EpochMetrics> epochs) {
        StringBuilder sb = new StringBuilder();
        for (EpochMetrics m : epochs) {
            sb.append(line(m)).append('\n');
        }
        io.texforce.tensor.io.Images.writeAtomically(sb.toString().getBytes(StandardCharsets.UTF_8), file);
    }
}
