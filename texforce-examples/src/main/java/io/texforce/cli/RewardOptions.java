package io.texforce.cli;

import io.texforce.rewards.JpegSize;
import io.texforce.rewards.Reward;
import picocli.CommandLine.Option;

import java.nio.file.Path;

/** The reward options shared by {@code train}, {@code evaluate} and {@code score}. */
final class RewardOptions {
    @Option(names = "--reward", required = true,
            description = "Reward: jpeg-compressibility, jpeg-incompressibility.")
    String reward;

    @Option(names = "--reward-model", description = "Folder or checkpoint of the reward's model, where it needs one.")
    Path rewardModel;

    Reward create() {
        return switch (reward) {
            case "jpeg-compressibility", "compressibility" -> JpegSize.compressibility();
            case "jpeg-incompressibility", "incompressibility" -> JpegSize.incompressibility();
            default -> throw new UserError("unknown reward '" + reward
                    + "' (available: jpeg-compressibility, jpeg-incompressibility)");
        };
    }
}
