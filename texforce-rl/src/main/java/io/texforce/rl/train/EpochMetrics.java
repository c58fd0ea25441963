package io.texforce.rl.train;

/**
 * What one epoch did. {@code rewardMean}/{@code rewardStd} are over the epoch's sampled images (after dropping
 * failed ones); {@code evalRewardMean} is over the fixed evaluation prompts and seeds after the epoch's update.
 */
public record EpochMetrics(int epoch, float rewardMean, float rewardStd, float loss, float approxKl, float clipFraction,
                           float lr, float samplesPerSecond, int dropped, float epochSeconds, float evalRewardMean,
                           int optimizerSteps) {
}
