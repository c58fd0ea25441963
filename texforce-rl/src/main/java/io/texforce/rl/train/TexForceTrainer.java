package io.texforce.rl.train;

import com.fasterxml.jackson.core.JsonProcessingException;
import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import com.fasterxml.jackson.databind.node.ObjectNode;
import io.texforce.rewards.Reward;
import io.texforce.rl.Advantages;
import io.texforce.rl.DdimPolicy;
import io.texforce.rl.MiniBatch;
import io.texforce.rl.PerPromptStatTracker;
import io.texforce.rl.PolicyObjective;
import io.texforce.rl.PpoLoss;
import io.texforce.rl.Trajectory;
import io.texforce.rl.TrajectoryBuffer;
import io.texforce.rl.prompts.PromptSource;
import io.texforce.tensor.Backend;
import io.texforce.tensor.Devices;
import io.texforce.tensor.GradMode;
import io.texforce.tensor.Tensor;
import io.texforce.tensor.WeightDtype;
import io.texforce.tensor.io.Images;
import io.texforce.tensor.lora.LoraConfig;
import io.texforce.tensor.lora.LoraNetwork;
import io.texforce.tensor.optim.AdamW;
import io.texforce.tensor.optim.GradClip;
import io.texforce.tensor.cpu.CpuBackend;
import io.texforce.tensor.random.Generator;
import io.texforce.unet.pipeline.GenerationRequest;
import io.texforce.unet.pipeline.StableDiffusionPipeline;
import me.tongfei.progressbar.ProgressBar;
import me.tongfei.progressbar.ProgressBarBuilder;
import me.tongfei.progressbar.ProgressBarStyle;

import java.io.IOException;
import java.io.UncheckedIOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.concurrent.ExecutorService;
import java.util.concurrent.Executors;
import java.util.concurrent.Future;
import java.util.function.Consumer;

/**
 * TexForce: PPO on a LoRA of the text encoder (or of the U-Net, or both) of a Stable Diffusion pipeline, for any
 * reward. Each epoch samples trajectories with the stochastic DDIM policy, scores the images, turns rewards into
 * advantages (per-prompt statistics), and runs PPO's clipped objective over a random subset of each trajectory's
 * steps, back-propagating through the frozen U-Net into the adapters.
 *
 * <pre>{@code
 * TrainingSummary s = TexForceTrainer.builder()
 *         .model(Path.of("sd15"))
 *         .reward(JpegSize.compressibility())
 *         .prompts(PromptSource.animals())
 *         .epochs(10).samplesPerEpoch(32)
 *         .outputDir(Path.of("runs/jpeg"))
 *         .build().train();
 * }</pre>
 *
 * <p>The run directory holds {@code metrics.jsonl} (one object per epoch), {@code samples/epoch-NNNN.png} (fixed
 * evaluation prompts and seeds), {@code lora.safetensors} (the latest text-encoder LoRA in the peft/diffusers
 * layout, loadable by diffusers' {@code load_lora_weights}), {@code unet_lora.safetensors} when the U-Net trains,
 * {@code checkpoint.safetensors} (everything needed to resume, written atomically each epoch),
 * {@code reward_curve.png} and {@code summary.json}. A run killed and resumed ends bit-identical to an
 * uninterrupted one.
 */
public final class TexForceTrainer {
    private static final ObjectMapper JSON = new ObjectMapper();
    /**
     * Settings that change no number of a run: a run may resume with them changed, and checkpoints written
     * before they existed resume.
     */
    private static final List<String> RESULT_NEUTRAL_SETTINGS = List.of("gradientCheckpointing");
    private static final String WEIGHT_DTYPE_KEY = "weightDtype";

    private final StableDiffusionPipeline pipeline;
    private final Reward reward;
    private final PromptSource prompts;
    private final TexForceConfig config;
    private final WeightDtype weightDtype;
    private final Path runDir;
    private final boolean resume;
    private final boolean progress;
    private final Consumer<EpochMetrics> listener;
    private final Consumer<String> log;

    private TexForceTrainer(Builder b) {
        if (b.pipeline != null && b.weightDtype != null) {
            throw new IllegalArgumentException("weightDtype applies when the trainer loads the model from a folder;"
                    + " a given pipeline keeps the dtype it was loaded with (StableDiffusionPipeline.load(dir, dtype))");
        }
        if (b.pipeline != null && b.variant != null) {
            throw new IllegalArgumentException("variant applies when the trainer loads the model from a folder;"
                    + " a given pipeline was loaded already");
        }
        this.pipeline = b.pipeline != null ? b.pipeline : StableDiffusionPipeline.load(b.model,
                b.device != null ? b.device : CpuBackend.INSTANCE,
                b.weightDtype == null ? WeightDtype.FP32 : b.weightDtype, b.variant);
        this.weightDtype = pipeline.unet().weightDtype();
        if (b.activationDtype != null) {
            try {
                pipeline.backend().setActivationDtype(b.activationDtype);
            } catch (UnsupportedOperationException e) {
                throw new IllegalArgumentException("activationDtype(" + b.activationDtype.cliName() + "): "
                        + e.getMessage(), e);
            }
        }
        this.reward = b.reward;
        this.prompts = b.prompts;
        this.config = b.config.build();
        pipeline.latentSize(config.height(), config.width());  // a bad resolution fails here, not after sampling starts
        this.runDir = b.outputDir;
        this.resume = b.resume;
        this.progress = b.progress;
        this.listener = b.listener;
        this.log = b.log;
    }

    public static Builder builder() {
        return new Builder();
    }

    public TexForceConfig config() {
        return config;
    }

    /** How the frozen weights of the pipeline are stored (fp32 unless asked for; LoRA and AdamW are fp32). */
    public WeightDtype weightDtype() {
        return weightDtype;
    }

    /** The format activations are kept in on the pipeline's backend (see {@link Builder#activationDtype}). */
    public WeightDtype activationDtype() {
        return pipeline.backend().activationDtype();
    }

    /** Trains (or, with {@code resume}, continues) until {@code epochs} epochs are done. */
    public TrainingSummary train() {
        try {
            Files.createDirectories(runDir.resolve("samples"));
        } catch (IOException e) {
            throw new UncheckedIOException("cannot create run directory " + runDir + ": " + e.getMessage(), e);
        }
        LoraNetwork textLora = config.mode().trainsTextEncoder()
                ? pipeline.textEncoder().createLora("texforce", new LoraConfig(config.loraRank(), config.loraAlpha(),
                config.loraTargets()), config.seed()) : null;
        LoraNetwork unetLora = config.mode().trainsUnet()
                ? pipeline.unet().createLora("texforce-unet", new LoraConfig(config.unetLoraRank(),
                config.unetLoraAlpha(), config.unetLoraTargets()), config.seed() + 1) : null;
        boolean unetCheckpointing = pipeline.unet().gradientCheckpointing();
        boolean textCheckpointing = pipeline.textEncoder().gradientCheckpointing();
        pipeline.unet().setGradientCheckpointing(config.gradientCheckpointing());
        pipeline.textEncoder().setGradientCheckpointing(config.gradientCheckpointing());
        try {
            return run(textLora, unetLora);
        } finally {
            pipeline.unet().setGradientCheckpointing(unetCheckpointing);
            pipeline.textEncoder().setGradientCheckpointing(textCheckpointing);
            if (textLora != null) {
                textLora.detach();
            }
            if (unetLora != null) {
                unetLora.detach();
            }
        }
    }

    private TrainingSummary run(LoraNetwork textLora, LoraNetwork unetLora) {
        Map<String, Tensor> params = new LinkedHashMap<>();
        if (textLora != null) {
            params.putAll(textLora.parameters());
        }
        if (unetLora != null) {
            params.putAll(unetLora.parameters());
        }
        AdamW optimizer = new AdamW(params, config.learningRate(), config.beta1(), config.beta2(), config.adamEps(),
                config.weightDecay());
        LrSchedule schedule = LrSchedule.withWarmupFraction(config.learningRate(), config.warmupFraction(),
                config.epochs() * config.updatesPerEpoch());
        PerPromptStatTracker tracker = new PerPromptStatTracker(config.statBufferSize(), config.statMinCount());
        Generator rng = new Generator(config.seed());
        DdimPolicy policy = new DdimPolicy(pipeline.scheduler(), config.steps(), config.eta());
        PolicyObjective objective = new PolicyObjective(pipeline, policy, config.guidanceScale(), config.negativePrompt(),
                config.clipSkip());
        TrajectorySampler sampler = new TrajectorySampler(pipeline, objective, config);
        String configJson = configJson();
        Path checkpointFile = runDir.resolve("checkpoint.safetensors");
        Path metricsFile = runDir.resolve("metrics.jsonl");
        int startEpoch = 0;
        int optimizerSteps = 0;
        List<EpochMetrics> history = new ArrayList<>();
        float evalBefore = Float.NaN;
        if (resume && RunCheckpoint.exists(checkpointFile)) {
            RunCheckpoint ck = RunCheckpoint.read(checkpointFile);
            checkResumable(ck.configJson(), configJson);
            try (var g = GradMode.noGrad()) {
                for (var e : params.entrySet()) {
                    Tensor saved = ck.lora().get(e.getKey());
                    if (saved == null) {
                        throw new IllegalArgumentException(checkpointFile + " has no LoRA tensor '" + e.getKey() + "'");
                    }
                    e.getValue().copyFrom(saved.to(e.getValue().backend()));
                }
            }
            optimizer.loadState(ck.optimizer());
            tracker.importState(ck.tracker());
            rng.setOffset(ck.rngOffset());
            startEpoch = ck.epoch();
            optimizerSteps = ck.optimizerSteps();
            history.addAll(MetricsLog.read(metricsFile, startEpoch));
            MetricsLog.rewrite(metricsFile, history);
            evalBefore = readEvalBefore();
            log.accept("resuming " + runDir + " after epoch " + startEpoch);
        } else {
            if (RunCheckpoint.exists(checkpointFile)) {
                throw new IllegalArgumentException(runDir + " already holds a run (checkpoint.safetensors); resume it"
                        + " (--resume) or choose another output directory");
            }
            MetricsLog.rewrite(metricsFile, List.of());
            evalBefore = evaluate(0);
            writeSummary(evalBefore, history);
        }
        int sampleBatches = config.samplesPerEpoch() / config.sampleBatchSize();
        int trainBatches = config.samplesPerEpoch() / config.trainBatchSize();
        long work = (long) (config.epochs() - startEpoch) * (sampleBatches + (long) trainBatches * config.trainedSteps()
                * config.innerEpochs());
        ExecutorService rewardPool = Executors.newSingleThreadExecutor(r -> {
            Thread t = new Thread(r, "texforce-reward");
            t.setDaemon(true);
            return t;
        });
        try (ProgressBar bar = progressBar(work)) {
            for (int epoch = startEpoch + 1; epoch <= config.epochs(); epoch++) {
                long t0 = System.nanoTime();
                bar.setExtraMessage("epoch " + epoch + "/" + config.epochs() + " sampling");
                // ---- sampling, with rewards computed in the background while the next batch samples
                List<TrajectorySampler.Batch> batches = new ArrayList<>();
                List<Future<float[]>> scores = new ArrayList<>();
                for (int b = 0; b < sampleBatches; b++) {
                    List<String> ps = new ArrayList<>();
                    long[] seeds = new long[config.sampleBatchSize()];
                    for (int i = 0; i < config.sampleBatchSize(); i++) {
                        ps.add(prompts.sample(rng));
                        seeds[i] = Seeds.mix(config.seed(), epoch, (long) b * config.sampleBatchSize() + i);
                    }
                    TrajectorySampler.Batch batch = sampler.sample(ps, seeds);
                    batches.add(batch);
                    scores.add(rewardPool.submit(() -> safeScore(batch)));
                    bar.step();
                }
                TrajectoryBuffer buffer = new TrajectoryBuffer();
                List<Float> epochRewards = new ArrayList<>();
                int dropped = 0;
                for (int b = 0; b < batches.size(); b++) {
                    TrajectorySampler.Batch batch = batches.get(b);
                    float[] r = join(scores.get(b));
                    for (int i = 0; i < r.length; i++) {
                        if (!Float.isFinite(r[i])) {
                            dropped++;
                            continue;
                        }
                        epochRewards.add(r[i]);
                        buffer.add(new Trajectory(batch.prompts().get(i), batch.promptIds()[i], config.negativePrompt(),
                                batch.latents().get(i), batch.timesteps(), batch.logProbs()[i], r[i]));
                    }
                }
                if (dropped > 0) {
                    log.accept("epoch " + epoch + ": dropped " + dropped + " sample(s) whose reward failed");
                }
                // ---- advantages
                float[] rewards = buffer.rewards();
                float[] adv = config.perPromptStatTracking() ? tracker.update(buffer.prompts(), rewards)
                        : Advantages.normalize(rewards);
                TrajectoryBuffer train = usable(buffer, adv);
                // ---- PPO
                bar.setExtraMessage("epoch " + epoch + "/" + config.epochs() + " training");
                double lossSum = 0, klSum = 0, clipSum = 0;
                int terms = 0;
                int accumulated = 0;
                optimizer.zeroGrad();
                for (int inner = 0; inner < config.innerEpochs(); inner++) {
                    List<MiniBatch> minis = train.size() == 0 ? List.of()
                            : train.epoch(rng, config.trainBatchSize(), config.trainedSteps());
                    for (MiniBatch mb : minis) {
                        int[][] ids = new int[mb.size()][];
                        for (int i = 0; i < mb.size(); i++) {
                            ids[i] = mb.samples().get(i).promptIds();
                        }
                        Tensor advantages = mb.advantages().clamp(-config.advClipMax(), config.advClipMax());
                        float scale = 1f / (config.gradientAccumulation() * mb.trainedSteps());
                        for (int j = 0; j < mb.trainedSteps(); j++) {
                            Tensor logp = objective.logProb(ids, mb.latents(j), mb.timesteps(j), mb.nextLatents(j));
                            PpoLoss ppo = PpoLoss.compute(logp, mb.oldLogProbs(j), advantages, config.clipRange());
                            ppo.loss().mul(scale).backward();
                            lossSum += ppo.loss().item();
                            klSum += ppo.approxKl();
                            clipSum += ppo.clipFraction();
                            terms++;
                            bar.step();
                        }
                        if (++accumulated == config.gradientAccumulation()) {
                            optimizerSteps = update(optimizer, params, schedule, optimizerSteps);
                            accumulated = 0;
                        }
                    }
                }
                if (accumulated > 0) {
                    optimizerSteps = update(optimizer, params, schedule, optimizerSteps);
                }
                // ---- evaluation, outputs, checkpoint
                float evalMean = evaluate(epoch);
                double seconds = (System.nanoTime() - t0) / 1e9;
                float[] ms = meanStd(epochRewards);
                EpochMetrics m = new EpochMetrics(epoch, ms[0], ms[1], (float) (lossSum / Math.max(1, terms)),
                        (float) (klSum / Math.max(1, terms)), (float) (clipSum / Math.max(1, terms)),
                        optimizer.lr(), (float) (config.samplesPerEpoch() / seconds), dropped, (float) seconds, evalMean,
                        optimizerSteps);
                history.add(m);
                if (textLora != null) {
                    textLora.save(runDir.resolve("lora.safetensors"));
                }
                if (unetLora != null) {
                    unetLora.save(runDir.resolve("unet_lora.safetensors"));
                }
                new RunCheckpoint(epoch, optimizerSteps, rng.offset(), params, optimizer.state(), tracker.exportState(),
                        configJson).write(runDir.resolve("checkpoint.safetensors"));
                MetricsLog.append(metricsFile, m);
                writeSummary(evalBefore, history);
                RewardCurve.write(history, reward.name(), runDir.resolve("reward_curve.png"));
                listener.accept(m);
                log.accept(String.format("epoch %d: reward %.4f +- %.4f, eval %.4f, loss %.3g, kl %.3g, clipfrac %.3f",
                        epoch, m.rewardMean(), m.rewardStd(), m.evalRewardMean(), m.loss(), m.approxKl(), m.clipFraction()));
            }
        } finally {
            rewardPool.shutdownNow();
        }
        return new TrainingSummary(runDir, evalBefore, history.isEmpty() ? Float.NaN
                : history.get(history.size() - 1).evalRewardMean(), List.copyOf(history));
    }

    private int update(AdamW optimizer, Map<String, Tensor> params, LrSchedule schedule, int step) {
        GradClip.clipGradNorm(params.values(), config.maxGradNorm());
        optimizer.setLr(schedule.lr(step));
        optimizer.step();
        optimizer.zeroGrad();
        return step + 1;
    }

    /** Keeps a multiple of the train batch size (dropped rewards can leave a remainder) and sets advantages. */
    private TrajectoryBuffer usable(TrajectoryBuffer all, float[] adv) {
        int keep = all.size() / config.trainBatchSize() * config.trainBatchSize();
        TrajectoryBuffer out = new TrajectoryBuffer();
        for (int i = 0; i < keep; i++) {
            out.add(all.get(i));
        }
        if (keep > 0) {
            out.setAdvantages(java.util.Arrays.copyOf(adv, keep));
        }
        if (keep < all.size()) {
            log.accept((all.size() - keep) + " sample(s) left out of training to fill whole batches");
        }
        return out;
    }

    /**
     * The reward of images, with float32 activations on this thread whatever the sampling thread uses: a reward
     * model computes in its own precision (DDPO's reward thread likewise runs outside autocast), and its noise
     * would otherwise enter every advantage.
     */
    private float[] score(Tensor images, List<String> prompts) {
        try (var fp32 = pipeline.backend().activations(WeightDtype.FP32)) {
            return reward.score(images, prompts);
        }
    }

    private float[] safeScore(TrajectorySampler.Batch batch) {
        try {
            float[] r = score(batch.images(), batch.prompts());
            if (r.length != batch.prompts().size()) {
                throw new IllegalStateException("reward " + reward.name() + " returned " + r.length + " scores for "
                        + batch.prompts().size() + " images");
            }
            return r;
        } catch (RuntimeException e) {
            log.accept("reward " + reward.name() + " failed on a batch (" + e.getMessage() + "); its samples are dropped");
            float[] nan = new float[batch.prompts().size()];
            java.util.Arrays.fill(nan, Float.NaN);
            return nan;
        }
    }

    private static float[] join(Future<float[]> f) {
        try {
            return f.get();
        } catch (InterruptedException e) {
            Thread.currentThread().interrupt();
            throw new IllegalStateException("interrupted while waiting for rewards", e);
        } catch (java.util.concurrent.ExecutionException e) {
            throw new IllegalStateException("reward computation failed", e.getCause());
        }
    }

    /** Mean reward of the fixed evaluation prompts and seeds; writes their grid to samples/epoch-NNNN.png. */
    private float evaluate(int epoch) {
        int n = config.evalImages();
        if (n <= 0) {
            return Float.NaN;
        }
        List<String> ps = new ArrayList<>();
        long[] seeds = new long[n];
        for (int i = 0; i < n; i++) {
            ps.add(prompts.get(i));
            // The same evaluation seeds for every run, so runs with different training seeds share one baseline.
            seeds[i] = Seeds.mix(0, -1, i);
        }
        GenerationRequest r = new GenerationRequest(ps, config.negativePrompt(), config.steps(), config.guidanceScale(),
                config.eta(), seeds, null, config.height(), config.width(), config.clipSkip());
        Tensor images = pipeline.generate(r).images();
        Images.writePng(Images.grid(images, Math.min(n, 4)), runDir.resolve(String.format("samples/epoch-%04d.png", epoch)));
        float[] s = score(images, ps);
        double sum = 0;
        int k = 0;
        for (float v : s) {
            if (Float.isFinite(v)) {
                sum += v;
                k++;
            }
        }
        return k == 0 ? Float.NaN : (float) (sum / k);
    }

    private static float[] meanStd(List<Float> xs) {
        if (xs.isEmpty()) {
            return new float[]{Float.NaN, Float.NaN};
        }
        double s = 0, ss = 0;
        for (float x : xs) {
            s += x;
        }
        double mean = s / xs.size();
        for (float x : xs) {
            ss += (x - mean) * (x - mean);
        }
        return new float[]{(float) mean, (float) Math.sqrt(ss / xs.size())};
    }

    private ProgressBar progressBar(long work) {
        ProgressBarBuilder b = new ProgressBarBuilder().setTaskName("TexForce").setInitialMax(Math.max(1, work))
                .setStyle(ProgressBarStyle.ASCII).setUpdateIntervalMillis(1000).showSpeed();
        if (!progress) {
            b.setConsumer(new me.tongfei.progressbar.DelegatingProgressBarConsumer(s -> {
            }));
        }
        return b.build();
    }

    private String configJson() {
        try {
            ObjectNode n = JSON.valueToTree(config);
            n.remove("epochs");
            n.put("reward", reward.name());
            n.put("prompts", prompts.name());
            n.put(WEIGHT_DTYPE_KEY, weightDtype.cliName());
            return JSON.writeValueAsString(n);
        } catch (IllegalArgumentException | com.fasterxml.jackson.core.JsonProcessingException e) {
            throw new IllegalStateException(e);
        }
    }

    /**
     * Fails unless the saved configuration equals the current one apart from result-neutral settings. Runs saved
     * before the weight dtype was recorded
     * were fp32 runs.
     */
    private static void checkResumable(String saved, String now) {
        if (!withoutResultNeutralSettings(saved).equals(withoutResultNeutralSettings(now))) {
            throw new IllegalArgumentException("cannot resume: the run was started with different settings.\n  saved: "
                    + saved + "\n  now:   " + now);
        }
    }

    private static JsonNode withoutResultNeutralSettings(String configJson) {
        try {
            ObjectNode n = (ObjectNode) JSON.readTree(configJson);
            n.remove(RESULT_NEUTRAL_SETTINGS);
            if (!n.has(WEIGHT_DTYPE_KEY)) {
                n.put(WEIGHT_DTYPE_KEY, WeightDtype.FP32.cliName());
            }
            return n;
        } catch (JsonProcessingException | ClassCastException e) {
            throw new IllegalArgumentException("cannot resume: the checkpoint's configuration is not a JSON object: "
                    + configJson, e);
        }
    }

    private void writeSummary(float evalBefore, List<EpochMetrics> history) {
        ObjectNode n = JSON.createObjectNode();
        n.put("reward", reward.name());
        n.put("prompts", prompts.name());
        n.put("seed", config.seed());
        n.put("eval_reward_before", evalBefore);
        n.put("eval_reward_after", history.isEmpty() ? Float.NaN : history.get(history.size() - 1).evalRewardMean());
        n.put("epochs_done", history.size());
        try {
            Images.writeAtomically(JSON.writerWithDefaultPrettyPrinter().writeValueAsBytes(n), runDir.resolve("summary.json"));
        } catch (com.fasterxml.jackson.core.JsonProcessingException e) {
            throw new IllegalStateException(e);
        }
    }

    private float readEvalBefore() {
        try {
            return (float) JSON.readTree(runDir.resolve("summary.json").toFile()).path("eval_reward_before").asDouble(Double.NaN);
        } catch (IOException e) {
            return Float.NaN;
        }
    }

    /** Builds a trainer; every option defaults to the paper's code ({@link TexForceConfig#defaults()}). */
    public static final class Builder {
        private Path model;
        private Backend device;
        private StableDiffusionPipeline pipeline;
        private WeightDtype weightDtype;
        private String variant;
        private WeightDtype activationDtype;
        private Reward reward;
        private PromptSource prompts = PromptSource.animals();
        private MutableConfig config = new MutableConfig(TexForceConfig.defaults());
        private Path outputDir;
        private boolean resume;
        private boolean progress = true;
        private Consumer<EpochMetrics> listener = m -> {
        };
        private Consumer<String> log = System.err::println;

        private Builder() {
        }

        /** A diffusers pipeline folder. */
        public Builder model(Path dir) {
            this.model = dir;
            return this;
        }

        /** Where the model folder is loaded and training runs: the CPU (default) or another backend. */
        public Builder device(Backend backend) {
            this.device = java.util.Objects.requireNonNull(backend, "backend");
            return this;
        }

        /**
         * The device by name ("cpu", "cuda", "cuda:1"); throws {@link io.texforce.tensor.DeviceUnavailableException}
         * with the reason when this machine cannot use it.
         */
        public Builder device(String spec) {
            return device(Devices.resolve(spec));
        }

        /**
         * Stores the frozen weights of the text encoder, U-Net and VAE in {@code dtype} when the model is loaded
         * from {@link #model(Path)} (default fp32); LoRA parameters, gradients and AdamW state stay fp32.
         */
        public Builder weightDtype(WeightDtype dtype) {
            this.weightDtype = dtype;
            return this;
        }

        /**
         * Loads the weight files saved as {@code variant} ("fp16", "non_ema") when the model is loaded from
         * {@link #model(Path)}, as diffusers' {@code from_pretrained(..., variant=)}; unset, the plain weights (or a
         * component's only variant). The weights are still stored as {@link #weightDtype} says.
         */
        public Builder variant(String variant) {
            this.variant = variant;
            return this;
        }

        /**
         * Keeps activations in {@code dtype} on the device ({@link Backend#setActivationDtype}: bf16/fp16 on a GPU
         * halve the bytes kernels move and the autograd graph holds; sums, statistics, LoRA and AdamW stay fp32),
         * usually the weight dtype. Unset, the device's current setting stays (fp32 unless changed); the CPU
         * accepts fp32 only.
         */
        public Builder activationDtype(WeightDtype dtype) {
            this.activationDtype = dtype;
            return this;
        }

        /**
         * An already loaded pipeline (its text encoder and U-Net get adapters attached while training); training
         * runs on its backend.
         */
        public Builder pipeline(StableDiffusionPipeline p) {
            this.pipeline = p;
            return this;
        }

        public Builder reward(Reward r) {
            this.reward = r;
            return this;
        }

        public Builder prompts(PromptSource p) {
            this.prompts = p;
            return this;
        }

        public Builder outputDir(Path dir) {
            this.outputDir = dir;
            return this;
        }

        /** Continue from {@code outputDir/checkpoint.safetensors} when it exists. */
        public Builder resume(boolean r) {
            this.resume = r;
            return this;
        }

        public Builder progressBar(boolean show) {
            this.progress = show;
            return this;
        }

        /** Called after every epoch. */
        public Builder onEpoch(Consumer<EpochMetrics> l) {
            this.listener = l;
            return this;
        }

        /** Where progress messages go (stderr by default). */
        public Builder log(Consumer<String> l) {
            this.log = l;
            return this;
        }

        /** Replaces the whole configuration. */
        public Builder config(TexForceConfig c) {
            this.config = new MutableConfig(c);
            return this;
        }

        public Builder mode(TrainingMode m) {
            return with(c -> c.mode = m);
        }

        public Builder epochs(int n) {
            return with(c -> c.epochs = n);
        }

        public Builder samplesPerEpoch(int n) {
            return with(c -> c.samplesPerEpoch = n);
        }

        public Builder sampleBatchSize(int n) {
            return with(c -> c.sampleBatchSize = n);
        }

        public Builder trainBatchSize(int n) {
            return with(c -> c.trainBatchSize = n);
        }

        public Builder gradientAccumulation(int n) {
            return with(c -> c.gradientAccumulation = n);
        }

        public Builder steps(int n) {
            return with(c -> c.steps = n);
        }

        public Builder eta(float v) {
            return with(c -> c.eta = v);
        }

        public Builder guidanceScale(float v) {
            return with(c -> c.guidanceScale = v);
        }

        public Builder negativePrompt(String s) {
            return with(c -> c.negativePrompt = s);
        }

        public Builder clipSkip(int n) {
            return with(c -> c.clipSkip = n);
        }

        public Builder resolution(int height, int width) {
            return with(c -> {
                c.height = height;
                c.width = width;
            });
        }

        public Builder lora(int rank, float alpha, List<String> targets) {
            return with(c -> {
                c.loraRank = rank;
                c.loraAlpha = alpha;
                c.loraTargets = targets;
            });
        }

        public Builder unetLora(int rank, float alpha, List<String> targets) {
            return with(c -> {
                c.unetLoraRank = rank;
                c.unetLoraAlpha = alpha;
                c.unetLoraTargets = targets;
            });
        }

        public Builder learningRate(float lr) {
            return with(c -> c.learningRate = lr);
        }

        public Builder adam(float beta1, float beta2, float weightDecay, float eps) {
            return with(c -> {
                c.beta1 = beta1;
                c.beta2 = beta2;
                c.weightDecay = weightDecay;
                c.adamEps = eps;
            });
        }

        public Builder warmupFraction(float f) {
            return with(c -> c.warmupFraction = f);
        }

        public Builder maxGradNorm(float v) {
            return with(c -> c.maxGradNorm = v);
        }

        public Builder timestepFraction(float f) {
            return with(c -> c.timestepFraction = f);
        }

        public Builder innerEpochs(int n) {
            return with(c -> c.innerEpochs = n);
        }

        public Builder clipRange(float v) {
            return with(c -> c.clipRange = v);
        }

        public Builder advClipMax(float v) {
            return with(c -> c.advClipMax = v);
        }

        public Builder perPromptStatTracking(boolean on, int bufferSize, int minCount) {
            return with(c -> {
                c.perPromptStatTracking = on;
                c.statBufferSize = bufferSize;
                c.statMinCount = minCount;
            });
        }

        public Builder seed(long s) {
            return with(c -> c.seed = s);
        }

        public Builder evalImages(int n) {
            return with(c -> c.evalImages = n);
        }

        /**
         * Activation checkpointing of the U-Net and text-encoder layers during training: much less memory for
         * the backward pass, about one extra forward per trained step, bit-identical results.
         */
        public Builder gradientCheckpointing(boolean on) {
            return with(c -> c.gradientCheckpointing = on);
        }

        /** Options are checked together when the trainer is built, so they can be set in any order. */
        private Builder with(Consumer<MutableConfig> edit) {
            edit.accept(config);
            return this;
        }

        public TexForceTrainer build() {
            if (pipeline != null && device != null && pipeline.backend() != device) {
                throw new IllegalStateException("TexForceTrainer: device " + device.name()
                        + " was asked for, but the given pipeline is on " + pipeline.backend().name());
            }
            if (model == null && pipeline == null) {
                throw new IllegalStateException("TexForceTrainer needs a model folder or a pipeline");
            }
            if (reward == null) {
                throw new IllegalStateException("TexForceTrainer needs a reward");
            }
            if (outputDir == null) {
                throw new IllegalStateException("TexForceTrainer needs an output directory");
            }
            return new TexForceTrainer(this);
        }
    }
}
