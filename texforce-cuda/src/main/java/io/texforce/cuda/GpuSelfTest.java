package io.texforce.cuda;

import io.texforce.tensor.cpu.CpuBackend;

import io.texforce.tensor.WeightDtype;

import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.Locale;

/**
 * Runs every kernel of the CUDA backend against the CPU reference and prints a table of max errors and warm
 * timings; exits 1 if any check fails, 2 without a usable GPU. Meant for a GPU machine with only the bundle:
 * {@code java --enable-native-access=ALL-UNNAMED --add-modules jdk.incubator.vector -cp 'lib/*'
 * io.texforce.cuda.GpuSelfTest [name-filter]}; the filter picks checks by a part of their name ({@code bf16} for the
 * bfloat16 weight paths, {@code attention}, {@code cudnn} for the convolution checks on cuDNN (run where cuDNN
 * loads, else one line says why), ...; the 1250 random cases of {@link FuzzChecks}, which run after the named
 * checks, are named {@code fuzz N: ...}, so {@code fuzz} picks only them).
 */
public final class GpuSelfTest {
    /** The seed of the random cases (the emulator tests use the same, so a failure here can be replayed there). */
    static final long FUZZ_SEED = 20261123;

    private GpuSelfTest() {
    }

    public static void main(String[] args) {
        System.exit(run(args));
    }

    /**
     * Runs the checks and returns the exit status (0 all passed, 1 a check failed, 2 no device). {@code --emulator}
     * as the first argument runs them on the CUDA host emulator that {@code TEXFORCE_CUDA_EMULATOR} names instead.
     */
    static int run(String... args) {
        boolean emulated = args.length > 0 && args[0].equals("--emulator");
        String filter = args.length > (emulated ? 1 : 0) ? args[emulated ? 1 : 0].toLowerCase(Locale.ROOT) : "";
        CudaBackend gpu;
        try {
            gpu = emulated ? CudaEmulator.backend() : CudaBackend.get();
        } catch (CudaUnavailableException e) {
            System.err.println("GpuSelfTest: " + e.getMessage());
            return 2;
        }
        System.out.printf("device %s, driver %s%n", gpu.device(), gpu.driverVersion());
        System.out.printf("%-48s %12s %10s %10s %10s  %s%n", "check", "max error", "tolerance", "gpu ms", "cpu ms",
                "result");
        int failed = 0, run = 0;
        for (ParityCheck check : ParityChecks.all()) {
            if (matches(check, filter)) {
                run++;
                ParityCheck.Result r = runAndPrint(check, gpu, true);
                if (r == null || !r.passed()) failed++;
            }
        }
        // cuDNN's convolutions against the same references, where cuDNN loads; without it the line says why.
        List<ParityCheck> cudnnChecks = ParityChecks.cudnn().stream().filter(c -> matches(c, filter)).toList();
        if (!cudnnChecks.isEmpty()) {
            try {
                System.out.printf("cuDNN %s%n", gpu.cudnnVersion());
                for (ParityCheck check : cudnnChecks) {
                    run++;
                    ParityCheck.Result r = runAndPrint(check, gpu, true);
                    if (r == null || !r.passed()) failed++;
                }
            } catch (CudaUnavailableException e) {
                System.out.printf("%-48s SKIPPED: %s%n", cudnnChecks.size() + " cudnn checks", e.getMessage());
            }
        }
        // The random cases print a line only when they fail, then one summary line per group.
        Map<String, List<ParityCheck>> groups = new LinkedHashMap<>();
        groups.put("random fuzz cases", FuzzChecks.cases(FUZZ_SEED, 1000, 250));
        for (WeightDtype d : new WeightDtype[]{WeightDtype.BF16, WeightDtype.FP16}) {
            groups.put("random " + d.cliName() + " activation fuzz cases", FuzzChecks.halfCases(FUZZ_SEED, 250, d));
        }
        for (var group : groups.entrySet()) {
            List<ParityCheck> fuzz = group.getValue().stream().filter(c -> matches(c, filter)).toList();
            run += fuzz.size();
            failed += runFuzz(group.getKey(), fuzz, gpu);
        }
        long[] mem = gpu.memoryInUse();
        System.out.printf("%d checks, %d failed; device memory: %d MiB live, %d MiB cached%n", run, failed,
                mem[0] >> 20, mem[1] >> 20);
        return failed == 0 ? 0 : 1;
    }

    /** Runs random cases, printing failures and one summary line; returns how many failed. */
    private static int runFuzz(String label, List<ParityCheck> fuzz, CudaBackend gpu) {
        if (fuzz.isEmpty()) {
            return 0;
        }
        int fuzzFailed = 0;
        double worst = 0;
        for (ParityCheck check : fuzz) {
            ParityCheck.Result r = runAndPrint(check, gpu, false);
            if (r == null || !r.passed()) fuzzFailed++;
            if (r != null) worst = Math.max(worst, r.maxError());
        }
        System.out.printf("%-48s %12.3e %10.1e %21s  %s%n", fuzz.size() + " " + label + " (worst)", worst,
                fuzz.get(0).tolerance(), "", fuzzFailed == 0 ? "ok" : fuzzFailed + " FAILED");
        return fuzzFailed;
    }

    private static boolean matches(ParityCheck check, String filter) {
        return check.name().toLowerCase(Locale.ROOT).contains(filter);
    }

    /**
     * Runs one check and prints its line (always, or only when it fails); returns its result, or null when it threw
     * (printed as an error).
     */
    private static ParityCheck.Result runAndPrint(ParityCheck check, CudaBackend gpu, boolean printPassing) {
        try {
            ParityCheck.Result r = check.run(CpuBackend.INSTANCE, gpu);
            if (printPassing || !r.passed()) {
                System.out.printf("%-48s %12.3e %10.1e %10.3f %10.3f  %s%n", r.name(), r.maxError(), r.tolerance(),
                        r.gpuMillis(), r.cpuMillis(), r.passed() ? "ok" : "FAIL");
            }
            return r;
        } catch (RuntimeException | AssertionError e) {
            System.out.printf("%-48s %s%n", check.name(), "ERROR " + e);
            return null;
        }
    }
}
