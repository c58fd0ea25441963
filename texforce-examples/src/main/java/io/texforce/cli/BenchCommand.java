package io.texforce.cli;

import com.fasterxml.jackson.databind.ObjectMapper;
import com.fasterxml.jackson.databind.node.ObjectNode;
import io.texforce.cuda.CudaBackend;
import io.texforce.rewards.JpegSize;
import io.texforce.rl.prompts.PromptSource;
import io.texforce.rl.train.TexForceTrainer;
import io.texforce.tensor.Backend;
import io.texforce.tensor.GradMode;
import io.texforce.tensor.Tensor;
import io.texforce.tensor.cpu.Parallel;
import io.texforce.tensor.nn.RandomSource;
import io.texforce.tensor.random.Generator;
import io.texforce.unet.model.UNet2DConditionModel;
import io.texforce.unet.model.UNetConfig;
import io.texforce.unet.pipeline.StableDiffusionPipeline;
import picocli.CommandLine.Command;
import picocli.CommandLine.Mixin;
import picocli.CommandLine.Option;
import picocli.CommandLine.Parameters;

import java.io.IOException;
import java.lang.management.ManagementFactory;
import java.lang.management.MemoryPoolMXBean;
import java.lang.management.MemoryType;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.List;

/** {@code texforce bench}: timings of full-size models with random weights, as one JSON line. */
@Command(name = "bench", mixinStandardHelpOptions = true,
        description = "Benchmark full-size models with random weights of the real shapes; prints one JSON line. "
                + "unet: U-Net forward (and backward) at --latent. train-step: one TexForce training step "
                + "(sample --batch trajectories of --steps DDIM steps with CFG, decode, JPEG reward, PPO with "
                + "backward through the U-Net for --trained-steps of each, AdamW) at --resolution, in samples/s. "
                + "kernels: attention (float32; bf16, which runs on tensor cores on a GPU, next to float32), "
                + "conv2d, group norm and GEMM at the U-Net's first level (--latent), each next to the plain ops "
                + "or same-FLOP GEMM it replaces, one JSON line per kernel (on the CPU give "
                + "--warmup 10 or more: the JIT compiles the kernels during the first runs).")
final class BenchCommand implements Runnable {
    @Parameters(index = "0", paramLabel = "BENCH", description = "What to benchmark: unet, train-step or kernels.")
    String what;

    @Option(names = "--config", defaultValue = "sd15",
            description = "sd15, sd21, or a folder holding the component configs. Default: ${DEFAULT-VALUE}.")
    String config;

    @Mixin
    WeightOptions dtype;

    @Option(names = "--latent", defaultValue = "64", description = "unet: latent height and width. Default: ${DEFAULT-VALUE}.")
    int latent;

    @Option(names = "--batch", defaultValue = "2",
            description = "unet: batch size; train-step: trajectories per step. Default: ${DEFAULT-VALUE}.")
    int batch;

    @Option(names = "--backward", description = "unet: also time forward + backward into encoder_hidden_states"
            + " (U-Net frozen) and report the heap its autograd graph holds (graph_mb).")
    boolean backward;

    @Option(names = "--gradient-checkpointing",
            description = "unet with --backward, train-step: checkpoint the U-Net's and text encoder's layers (re-run"
                    + " during backward instead of kept).")
    boolean gradientCheckpointing;

    @Option(names = "--warmup", defaultValue = "1", description = "Untimed runs first. Default: ${DEFAULT-VALUE}.")
    int warmup;

    @Option(names = "--iterations", defaultValue = "3", description = "Timed runs (the median is reported). Default: ${DEFAULT-VALUE}.")
    int iterations;

    @Option(names = "--model", description = "train-step: a diffusers pipeline folder to load instead of random weights.")
    Path model;

    @Option(names = "--tokenizer", defaultValue = "testdata/tiny-sd1/tokenizer",
            description = "train-step with random weights: a CLIP tokenizer folder. Default: ${DEFAULT-VALUE}.")
    Path tokenizer;

    @Option(names = "--resolution", defaultValue = "512", description = "train-step: image size in pixels. Default: ${DEFAULT-VALUE}.")
    int resolution;

    @Option(names = "--steps", defaultValue = "50", description = "train-step: DDIM sampling steps. Default: ${DEFAULT-VALUE}.")
    int steps;

    @Option(names = "--trained-steps", defaultValue = "25",
            description = "train-step: timesteps of each trajectory trained with PPO. Default: ${DEFAULT-VALUE}.")
    int trainedSteps;

    @Option(names = "--kernel", defaultValue = "", description = "kernels: only those whose name contains this.")
    String kernel;

    @Mixin
    DeviceOption device;

    @Override
    public void run() {
        Backend be = dtype.activationsOn(device.backend());
        ObjectNode json = new ObjectMapper().createObjectNode();
        json.put("bench", what);
        json.put("device", be.name());
        if (be instanceof CudaBackend gpu) {
            json.put("gpu", gpu.device());
            json.put("tf32", gpu.tf32());
            json.put("conv", gpu.convAlgorithm().cliName());
        }
        if (gradientCheckpointing && !backward && what.equals("unet")) {
            throw new UserError("--gradient-checkpointing only changes the backward pass: add --backward");
        }
        json.put("config", model != null && what.equals("train-step") ? model.toString() : config);
        switch (what) {
            case "unet" -> unet(be, json);
            case "train-step" -> trainStep(be, json);
            case "kernels" -> {
                List<String> lines = new KernelBench(be, r -> median(be, r), latent).run(kernel);
                lines.forEach(System.out::println);
                json.put("latent", latent);
                json.put("kernels", lines.size());
            }
            default -> throw new UserError("unknown benchmark '" + what + "' (available: unet, train-step, kernels)");
        }
        json.put("threads", Parallel.threads());
        json.put("peak_heap_mb", peakHeapMb());
        json.put("peak_rss_mb", peakRssMb());
        if (be instanceof CudaBackend gpu) {
            json.put("gpu_peak_mb", gpu.peakMemory() >> 20);
            json.put("gpu_live_mb", gpu.memoryInUse()[0] >> 20);
            json.put("gpu_cached_mb", gpu.memoryInUse()[1] >> 20);
        }
        System.out.println(json);
    }

    private void unet(Backend be, ObjectNode json) {
        UNetConfig c = BenchModels.unet(config);
        long t0 = System.nanoTime();
        UNet2DConditionModel unet = UNet2DConditionModel.build(c, new RandomSource(0, 0.02f), be, dtype.value);
        double buildS = (System.nanoTime() - t0) / 1e9;
        unet.setGradientCheckpointing(gradientCheckpointing);
        Generator gen = new Generator(1);
        Tensor sample = gen.randn(be, batch, c.inChannels(), latent, latent);
        Tensor context = gen.randn(be, batch, 77, c.crossAttentionDim()[0]);
        float[] t = new float[batch];
        java.util.Arrays.fill(t, 500f);
        resetPeaks(be);
        double fwd = median(be, () -> {
            try (var g = GradMode.noGrad()) {
                unet.forward(sample, t, context);
            }
        });
        json.put("params_m", unet.parameterCount() / 1e6);
        json.put("weight_dtype", dtype.value.cliName());
        json.put("activation_dtype", be.activationDtype().cliName());
        json.put("param_mb", unet.parameterBytes() >> 20);
        json.put("latent", latent);
        json.put("batch", batch);
        json.put("build_s", round(buildS));
        json.put("forward_s", round(fwd));
        json.put("forward_it_per_s", round(1 / fwd));
        if (backward) {
            double fb = median(be, () -> {
                Tensor ctx = context.detach().requiresGrad(true);
                unet.forward(sample, t, ctx).sum().backward();
            });
            json.put("forward_backward_s", round(fb));
            json.put("gradient_checkpointing", gradientCheckpointing);
            double[] graph = graphMb(be, () -> unet.forward(sample, t, context.detach().requiresGrad(true)));
            json.put("graph_mb", (long) graph[0]);
            if (be instanceof CudaBackend) {
                json.put("graph_device_mb", round(graph[1]));
            }
        }
    }

    /**
     * One epoch of the real trainer holding exactly one sampling batch and one PPO batch: what a training step
     * costs, including the reward and writing the LoRA and checkpoint (small next to the U-Net work).
     */
    private void trainStep(Backend be, ObjectNode json) {
        if (trainedSteps < 1 || trainedSteps > steps) {
            throw new UserError("--trained-steps must be between 1 and --steps (" + steps + "), got " + trainedSteps);
        }
        long t0 = System.nanoTime();
        StableDiffusionPipeline pipe = model != null ? StableDiffusionPipeline.load(model, be, dtype.value, dtype.variant)
                : BenchModels.pipeline(config, tokenizer, be, dtype.value);
        double buildS = (System.nanoTime() - t0) / 1e9;
        resetPeaks(be);
        double[] epochSeconds = new double[Math.max(1, iterations)];
        Path runs;
        try {
            runs = Files.createTempDirectory("texforce-bench");
        } catch (IOException e) {
            throw new UserError("cannot create a temporary run directory: " + e.getMessage());
        }
        for (int i = -warmup; i < epochSeconds.length; i++) {
            float[] seconds = {Float.NaN};
            TexForceTrainer.builder().pipeline(pipe).reward(JpegSize.compressibility())
                    .prompts(PromptSource.animals()).outputDir(runs.resolve("run" + (i + warmup)))
                    .progressBar(false).log(m -> { }).onEpoch(m -> seconds[0] = m.epochSeconds())
                    .epochs(1).samplesPerEpoch(batch).sampleBatchSize(batch).trainBatchSize(batch)
                    .gradientAccumulation(1).steps(steps).timestepFraction((trainedSteps + 0.5f) / steps)
                    .resolution(resolution, resolution).evalImages(0).seed(i + warmup)
                    .gradientCheckpointing(gradientCheckpointing).build().train();
            if (i >= 0) {
                epochSeconds[i] = seconds[0];
            }
        }
        java.util.Arrays.sort(epochSeconds);
        double step = epochSeconds[epochSeconds.length / 2];
        json.put("resolution", resolution);
        json.put("batch", batch);
        json.put("steps", steps);
        json.put("trained_steps", trainedSteps);
        json.put("gradient_checkpointing", gradientCheckpointing);
        json.put("weight_dtype", dtype.value.cliName());
        json.put("activation_dtype", be.activationDtype().cliName());
        json.put("build_s", round(buildS));
        json.put("step_s", round(step));
        json.put("samples_per_s", round(batch / step));
    }

    /** Median seconds of {@code r}, waiting for the device before stopping the clock (GPU kernels are queued). */
    private double median(Backend be, Runnable r) {
        for (int i = 0; i < warmup; i++) {
            r.run();
        }
        be.synchronize();
        double[] s = new double[Math.max(1, iterations)];
        for (int i = 0; i < s.length; i++) {
            long t0 = System.nanoTime();
            r.run();
            be.synchronize();
            s[i] = (System.nanoTime() - t0) / 1e9;
        }
        java.util.Arrays.sort(s);
        return s[s.length / 2];
    }

    /** Three decimals, for the JSON lines of every benchmark. */
    static double round(double v) {
        return Math.round(v * 1000) / 1000.0;
    }

    /**
     * Heap that the autograd graph of one forward pass holds (live data after a full collection, with and without
     * the graph): the activation memory a backward pass starts from. The graph is then back-propagated.
     */
    /**
     * {heap MiB, device MiB} the autograd graph of {@code forward} holds: what is live after it minus before, after a
     * collection each time (device blocks return to the allocator when the collector finds their tensors).
     */
    private static double[] graphMb(Backend be, java.util.function.Supplier<Tensor> forward) {
        long before = liveHeap(), deviceBefore = liveDevice(be);
        Tensor out = forward.get();
        long with = liveHeap(), deviceWith = liveDevice(be);
        out.sum().backward();
        // The heap figure is a difference of two collections: noise can make a small graph (a GPU one) negative.
        return new double[]{Math.max(0, (with - before) >> 20), (deviceWith - deviceBefore) / (double) (1 << 20)};
    }

    /** Device bytes held by live tensors once the collector has found the unreachable ones (0 off the GPU). */
    private static long liveDevice(Backend be) {
        if (!(be instanceof CudaBackend gpu)) {
            return 0;
        }
        long live = Long.MAX_VALUE;
        // Phantom references reach the allocator's queue shortly after a collection: settle on a stable count.
        for (int i = 0; i < 5; i++) {
            System.gc();
            try {
                Thread.sleep(20);
            } catch (InterruptedException e) {
                Thread.currentThread().interrupt();
            }
            long now = gpu.memoryInUse()[0];
            if (now == live) {
                break;
            }
            live = now;
        }
        return live;
    }

    private static long liveHeap() {
        System.gc();
        return ManagementFactory.getMemoryMXBean().getHeapMemoryUsage().getUsed();
    }

    private static void resetPeaks(Backend be) {
        ManagementFactory.getMemoryPoolMXBeans().forEach(MemoryPoolMXBean::resetPeakUsage);
        if (be instanceof CudaBackend gpu) {
            gpu.resetPeakMemory();
        }
    }

    private static long peakHeapMb() {
        long sum = 0;
        for (MemoryPoolMXBean p : ManagementFactory.getMemoryPoolMXBeans()) {
            if (p.getType() == MemoryType.HEAP && p.getPeakUsage() != null) {
                sum += p.getPeakUsage().getUsed();
            }
        }
        return sum >> 20;
    }

    /** VmHWM of /proc/self/status (Linux), or -1. */
    private static long peakRssMb() {
        try {
            for (String line : Files.readAllLines(Path.of("/proc/self/status"))) {
                if (line.startsWith("VmHWM:")) {
                    return Long.parseLong(line.replaceAll("\\D", "")) >> 10;
                }
            }
        } catch (IOException | NumberFormatException e) {
            return -1;
        }
        return -1;
    }
}
