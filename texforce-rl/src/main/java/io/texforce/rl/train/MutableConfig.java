package io.texforce.rl.train;

import java.util.List;

/** The builder's working copy of a {@link TexForceConfig}; validated when {@link #build()} makes the record. */
final class MutableConfig {
    TrainingMode mode;
    int epochs, samplesPerEpoch, sampleBatchSize, trainBatchSize, gradientAccumulation;
    int steps;
    float eta, guidanceScale;
    String negativePrompt;
    int clipSkip, height, width;
    int loraRank;
    float loraAlpha;
    List<String> loraTargets;
    int unetLoraRank;
    float unetLoraAlpha;
    List<String> unetLoraTargets;
    float learningRate, beta1, beta2, weightDecay, adamEps, warmupFraction, maxGradNorm, timestepFraction;
    int innerEpochs;
    float clipRange, advClipMax;
    boolean perPromptStatTracking;
    int statBufferSize, statMinCount;
    long seed;
    int evalImages;
    boolean gradientCheckpointing;

    MutableConfig(TexForceConfig c) {
        mode = c.mode();
        epochs = c.epochs();
        samplesPerEpoch = c.samplesPerEpoch();
        sampleBatchSize = c.sampleBatchSize();
        trainBatchSize = c.trainBatchSize();
        gradientAccumulation = c.gradientAccumulation();
        steps = c.steps();
        eta = c.eta();
        guidanceScale = c.guidanceScale();
        negativePrompt = c.negativePrompt();
        clipSkip = c.clipSkip();
        height = c.height();
        width = c.width();
        loraRank = c.loraRank();
        loraAlpha = c.loraAlpha();
        loraTargets = c.loraTargets();
        unetLoraRank = c.unetLoraRank();
        unetLoraAlpha = c.unetLoraAlpha();
        unetLoraTargets = c.unetLoraTargets();
        learningRate = c.learningRate();
        beta1 = c.beta1();
        beta2 = c.beta2();
        weightDecay = c.weightDecay();
        adamEps = c.adamEps();
        warmupFraction = c.warmupFraction();
        maxGradNorm = c.maxGradNorm();
        timestepFraction = c.timestepFraction();
        innerEpochs = c.innerEpochs();
        clipRange = c.clipRange();
        advClipMax = c.advClipMax();
        perPromptStatTracking = c.perPromptStatTracking();
        statBufferSize = c.statBufferSize();
        statMinCount = c.statMinCount();
        seed = c.seed();
        evalImages = c.evalImages();
        gradientCheckpointing = c.gradientCheckpointing();
    }

    TexForceConfig build() {
        return new TexForceConfig(mode, epochs, samplesPerEpoch, sampleBatchSize, trainBatchSize, gradientAccumulation,
                steps, eta, guidanceScale, negativePrompt, clipSkip, height, width, loraRank, loraAlpha, loraTargets,
                unetLoraRank, unetLoraAlpha, unetLoraTargets, learningRate, beta1, beta2, weightDecay, adamEps,
                warmupFraction, maxGradNorm, timestepFraction, innerEpochs, clipRange, advClipMax,
                perPromptStatTracking, statBufferSize, statMinCount, seed, evalImages, gradientCheckpointing);
    }
}
