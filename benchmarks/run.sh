#!/usr/bin/env bash
# Builds benchmarks/target/benchmarks.jar and runs the JMH suite, TexForce kernels next to OpenBLAS.
# Extra arguments go to JMH, e.g. a benchmark regex and overrides:  benchmarks/run.sh GemmBenchmark -i 10
# Writes benchmarks/results/jmh-<timestamp>.json and the derived GFLOP/s table as table-<timestamp>.md.
set -euo pipefail
cd "$(dirname "$0")/.."

java_bin="${JAVA_HOME:+$JAVA_HOME/bin/}java"
./mvnw -B -q -pl benchmarks -am package -DskipTests

stamp="$(date +%Y%m%d-%H%M%S)"
mkdir -p benchmarks/results
json="benchmarks/results/jmh-$stamp.json"
# Iteration counts come from the benchmark classes (a few 1-2 s iterations, one fork each): the whole suite
# takes 3-4 minutes on 2 cores. The forks get the Vector API and native-access flags from @Fork.
"$java_bin" --add-modules jdk.incubator.vector -jar benchmarks/target/benchmarks.jar -rf json -rff "$json" "$@"
"$java_bin" -cp benchmarks/target/benchmarks.jar io.texforce.benchmarks.ResultsTable "$json" \
    | tee "benchmarks/results/table-$stamp.md"
