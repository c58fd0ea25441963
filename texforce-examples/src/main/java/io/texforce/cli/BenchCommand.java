package io.texforce.cli;

import com.fasterxml.jackson.databind.ObjectMapper;
import com.fasterxml.jackson.databind.node.ObjectNode;
import io.texforce.tensor.GradMode;
import io.texforce.tensor.Tensor;
import io.texforce.tensor.cpu.CpuBackend;
import io.texforce.tensor.cpu.Parallel;
import io.texforce.tensor.nn.RandomSource;
import io.texforce.tensor.random.Generator;
import io.texforce.unet.model.UNet2DConditionModel;
import io.texforce.unet.model.UNetConfig;
import picocli.CommandLine.Command;
import picocli.CommandLine.Mixin;
import picocli.CommandLine.Option;
import picocli.CommandLine.Parameters;

import java.io.IOException;
import java.io.InputStream;
import java.lang.management.ManagementFactory;
import java.lang.management.MemoryPoolMXBean;
import java.lang.management.MemoryType;
import java.nio.file.Files;
import java.nio.file.Path;

/** {@code texforce bench}: timings of full-size models with random weights, as one JSON line. */
@Command(name = "bench", mixinStandardHelpOptions = true,
        description = "Benchmark a full-size model with random weights of the real shapes; prints one JSON line.")
final class BenchCommand implements Runnable {
    @Parameters(index = "0", paramLabel = "MODEL", description = "What to benchmark: unet.")
    String what;

    @Option(names = "--config", defaultValue = "sd15",
            description = "sd15, sd21, or a folder holding a unet config.json. Default: ${DEFAULT-VALUE}.")
    String config;

    @Mixin
    WeightDtypeOption dtype;

    @Option(names = "--latent", defaultValue = "64", description = "Latent height and width. Default: ${DEFAULT-VALUE}.")
    int latent;

    @Option(names = "--batch", defaultValue = "2", description = "Batch size. Default: ${DEFAULT-VALUE}.")
    int batch;

    @Option(names = "--backward", description = "Also time forward + backward into encoder_hidden_states (U-Net frozen).")
    boolean backward;

    @Option(names = "--warmup", defaultValue = "1", description = "Untimed runs first. Default: ${DEFAULT-VALUE}.")
    int warmup;

    @Option(names = "--iterations", defaultValue = "3", description = "Timed runs (the median is reported). Default: ${DEFAULT-VALUE}.")
    int iterations;

    @Override
    public void run() {
        if (!what.equals("unet")) {
            throw new UserError("unknown benchmark '" + what + "' (available: unet)");
        }
        UNetConfig c = loadConfig();
        long t0 = System.nanoTime();
        UNet2DConditionModel unet = UNet2DConditionModel.build(c, new RandomSource(0, 0.02f), CpuBackend.INSTANCE,
                dtype.value);
        double buildS = (System.nanoTime() - t0) / 1e9;
        Generator gen = new Generator(1);
        Tensor sample = gen.randn(batch, c.inChannels(), latent, latent);
        Tensor context = gen.randn(batch, 77, c.crossAttentionDim()[0]);
        float[] t = new float[batch];
        java.util.Arrays.fill(t, 500f);
        resetPeaks();
        double fwd = median(() -> {
            try (var g = GradMode.noGrad()) {
                unet.forward(sample, t, context);
            }
        });
        ObjectNode json = new ObjectMapper().createObjectNode();
        json.put("bench", "unet");
        json.put("config", config);
        json.put("params_m", unet.parameterCount() / 1e6);
        json.put("weight_dtype", dtype.value.cliName());
        json.put("param_mb", unet.parameterBytes() >> 20);
        json.put("latent", latent);
        json.put("batch", batch);
        json.put("threads", Parallel.threads());
        json.put("build_s", round(buildS));
        json.put("forward_s", round(fwd));
        if (backward) {
            double fb = median(() -> {
                Tensor ctx = context.detach().requiresGrad(true);
                unet.forward(sample, t, ctx).sum().backward();
            });
            json.put("forward_backward_s", round(fb));
        }
        json.put("peak_heap_mb", peakHeapMb());
        json.put("peak_rss_mb", peakRssMb());
        System.out.println(json);
    }

    private UNetConfig loadConfig() {
        Path dir = Path.of(config);
        if (Files.isDirectory(dir)) {
            Path f = Files.isRegularFile(dir.resolve("unet/config.json")) ? dir.resolve("unet/config.json") : dir.resolve("config.json");
            return UNetConfig.load(f);
        }
        String res = "configs/" + config + "/unet/config.json";
        try (InputStream in = BenchCommand.class.getResourceAsStream(res)) {
            if (in == null) {
                throw new UserError("unknown config '" + config + "' (sd15, sd21, or a folder with a unet config.json)");
            }
            return UNetConfig.fromJson(new ObjectMapper().readTree(in), "built-in " + config);
        } catch (IOException e) {
            throw new UserError("cannot read built-in config " + config + ": " + e.getMessage());
        }
    }

    private double median(Runnable r) {
        for (int i = 0; i < warmup; i++) {
            r.run();
        }
        double[] s = new double[Math.max(1, iterations)];
        for (int i = 0; i < s.length; i++) {
            long t0 = System.nanoTime();
            r.run();
            s[i] = (System.nanoTime() - t0) / 1e9;
        }
        java.util.Arrays.sort(s);
        return s[s.length / 2];
    }

    private static double round(double v) {
        return Math.round(v * 1000) / 1000.0;
    }

    private static void resetPeaks() {
        ManagementFactory.getMemoryPoolMXBeans().forEach(MemoryPoolMXBean::resetPeakUsage);
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
