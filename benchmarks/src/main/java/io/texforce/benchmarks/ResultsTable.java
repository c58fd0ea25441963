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
 * <p>Throughput is derived from the average time per operation and the work of one operation: floating-point
 * operations for the compute-bound kernels, minimum bytes moved for group norm.
 */
public final class ResultsTable {
    private ResultsTable() {
    }

    /** One benchmark configuration: its class, parameters, and the score of each implementation in ms/op. */
    private record Row(String kernel, String params, Map<String, Double> msPerOp) {
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
            rows.computeIfAbsent(kernel + " " + params, key -> new Row(kernel, params, new LinkedHashMap<>()))
                    .msPerOp().put(method, r.get("primaryMetric").get("score").asDouble());
        }
        System.out.println("| Kernel | Params | Ours ms | Baseline | Baseline ms | Ours | Baseline | Ours / baseline |");
        System.out.println("|---|---|---:|---|---:|---:|---:|---:|");
        for (Row row : rows.values()) {
            Double ours = row.msPerOp().get("texforce");
            var baseline = row.msPerOp().entrySet().stream().filter(e -> !e.getKey().equals("texforce")).findFirst();
            double work = work(row.kernel(), row.params());
            String unit = row.kernel().equals("GroupNormBenchmark") ? "GB/s" : "GFLOP/s";
            System.out.printf("| %s | %s | %s | %s | %s | %s | %s | %s |%n",
                    row.kernel().replace("Benchmark", ""), row.params(),
                    ours == null ? "-" : "%.2f".formatted(ours),
                    baseline.map(Map.Entry::getKey).orElse("-"),
                    baseline.map(e -> "%.2f".formatted(e.getValue())).orElse("-"),
                    ours == null ? "-" : "%.1f %s".formatted(work / ours / 1e6, unit),
                    baseline.map(e -> "%.1f %s".formatted(work / e.getValue() / 1e6, unit)).orElse("-"),
                    ours == null || baseline.isEmpty() ? "-" : "%.2f".formatted(baseline.get().getValue() / ours));
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
