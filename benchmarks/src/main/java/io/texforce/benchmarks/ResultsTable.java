package io.texforce.benchmarks;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import java.io.IOException;
import java.nio.file.Path;
import java.util.LinkedHashMap;
import java.util.Map;

/**
 * Turns a JMH JSON result file into a Markdown table of throughput, TexForce next to its baseline:
 * {@code java -cp benchmarks.jar io.texforce.benchmarks.ResultsTable results/run.json}.
 *
 * <p>Throughput is derived from the time per operation and the work of one operation: floating-point operations
 * for the compute-bound kernels, minimum bytes moved for group norm. Each time is given as the mean over the
 * measurement iterations and as the best iteration; on a machine shared with other jobs the best iteration is
 * the steadier estimate of what the kernel can do, so throughput and ratios are shown for both.
 */
public final class ResultsTable {
    private ResultsTable() {
    }

    /** Mean and best (lowest) iteration score of one implementation, in ms/op. */
    private record Score(double mean, double best) {
    }

    /** One benchmark configuration: its class, parameters, and the score of each implementation. */
    private record Row(String kernel, String params, Map<String, Score> scores) {
    }

    public static void main(String[] args) throws IOException {
        if (args.length != 1) {
            throw new IllegalArgumentException("usage: ResultsTable <jmh-result.json>");
        }
        JsonNode results = new ObjectMapper().readTree(Path.of(args[0]).toFile());
        Map<String, Row> rows = new LinkedHashMap<>();
        for (JsonNode r : results) {
            String name = r.get("benchmark").asText();
            int dot = name.lastIndexOf('.');
            String kernel = name.substring(name.lastIndexOf('.', dot - 1) + 1, dot);
            String method = name.substring(dot + 1);
            String params = r.has("params") ? r.get("params").toString().replaceAll("[{}\"]", "") : "";
            String unit = r.get("primaryMetric").get("scoreUnit").asText();
            if (!unit.equals("ms/op")) {
                throw new IllegalArgumentException(name + ": expected scores in ms/op, got " + unit);
            }
            double best = Double.POSITIVE_INFINITY;
            for (JsonNode fork : r.get("primaryMetric").get("rawData")) {
                for (JsonNode iteration : fork) {
                    best = Math.min(best, iteration.asDouble());
                }
            }
            rows.computeIfAbsent(kernel + " " + params, key -> new Row(kernel, params, new LinkedHashMap<>()))
                    .scores().put(method, new Score(r.get("primaryMetric").get("score").asDouble(), best));
        }
        System.out.println("| Kernel | Params | Ours ms mean / best | Baseline | Baseline ms mean / best "
                + "| Ours (best) | Baseline (best) | Ours / baseline, mean | Ours / baseline, best |");
        System.out.println("|---|---|---:|---|---:|---:|---:|---:|---:|");
        for (Row row : rows.values()) {
            Score ours = row.scores().get("texforce");
            var other = row.scores().entrySet().stream().filter(e -> !e.getKey().equals("texforce")).findFirst();
            if (ours == null || other.isEmpty()) {
                // Benchmarks without a baseline (e.g. the tokenizer's warm/cold variants) are listed by time only.
                row.scores().forEach((method, score) -> System.out.printf("| %s.%s | %s | %.2f / %.2f | - | - | - | - | - | - |%n",
                        row.kernel().replace("Benchmark", ""), method, row.params(), score.mean(), score.best()));
                continue;
            }
            Score base = other.get().getValue();
            double work = work(row.kernel(), row.params());
            String unit = row.kernel().equals("GroupNormBenchmark") ? "GB/s" : "GFLOP/s";
            System.out.printf("| %s | %s | %.2f / %.2f | %s | %.2f / %.2f | %.1f %s | %.1f %s | %.2f | %.2f |%n",
                    row.kernel().replace("Benchmark", ""), row.params(), ours.mean(), ours.best(),
                    other.get().getKey(), base.mean(), base.best(),
                    work / ours.best() / 1e6, unit, work / base.best() / 1e6, unit,
                    base.mean() / ours.mean(), base.best() / ours.best());
        }
    }

    /** Work of one operation: FLOPs, or bytes for the memory-bound group norm. */
    private static double work(String kernel, String params) {
        return switch (kernel) {
            case "GemmBenchmark" -> GemmBenchmark.flops(params.substring(params.indexOf(':') + 1));
            case "Conv2dBenchmark" -> Conv2dBenchmark.FLOPS;
            case "AttentionBenchmark" -> AttentionBenchmark.FLOPS;
            case "GroupNormBenchmark" -> GroupNormBenchmark.BYTES;
            default -> throw new IllegalArgumentException("no work model for benchmark class " + kernel);
        };
    }
}
