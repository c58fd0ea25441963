package io.texforce.rl.train;

import java.nio.file.Path;
import java.util.List;

/**
 * The outcome of {@link TexForceTrainer#train()}: the run directory, the mean reward of the fixed evaluation
 * prompts and seeds before training and after the last epoch, and every epoch's metrics.
 */
public record TrainingSummary(Path runDir, float evalRewardBefore, float evalRewardAfter, List<EpochMetrics> epochs) {
}
