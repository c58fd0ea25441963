package io.texforce.cuda;

import io.texforce.tensor.cpu.CpuBackend;

import java.util.Locale;

/**
 * Runs every kernel of the CUDA backend against the CPU reference and prints a table of max errors and warm
 * timings; exits 1 if any check fails, 2 without a usable GPU. Meant for a GPU machine with only the bundle:
 * {@code java --enable-native-access=ALL-UNNAMED --add-modules jdk.incubator.vector -cp 'lib/*'
 * io.texforce.cuda.GpuSelfTest [name-filter]}; the filter picks checks by a part of their name ({@code bf16} for the
 * bfloat16 weight paths, {@code attention}, ...).
 */
public final class GpuSelfTest {
    private GpuSelfTest() {
    }

    public static void main(String[] args) {
        String filter = args.length > 0 ? args[0].toLowerCase(Locale.ROOT) : "";
        CudaBackend gpu;
        try {
            gpu = CudaBackend.get();
        } catch (CudaUnavailableException e) {
            System.err.println("GpuSelfTest: " + e.getMessage());
            System.exit(2);
            return;
        }
        System.out.printf("device %s, driver %s%n", gpu.device(), gpu.driverVersion());
        System.out.printf("%-48s %12s %10s %10s %10s  %s%n", "check", "max error", "tolerance", "gpu ms", "cpu ms",
                "result");
        int failed = 0, run = 0;
        for (ParityCheck check : ParityChecks.all()) {
            if (!check.name().toLowerCase(Locale.ROOT).contains(filter)) {
                continue;
            }
            run++;
            try {
                ParityCheck.Result r = check.run(CpuBackend.INSTANCE, gpu);
                if (!r.passed()) failed++;
                System.out.printf("%-48s %12.3e %10.1e %10.3f %10.3f  %s%n", r.name(), r.maxError(), r.tolerance(),
                        r.gpuMillis(), r.cpuMillis(), r.passed() ? "ok" : "FAIL");
            } catch (RuntimeException | AssertionError e) {
                failed++;
                System.out.printf("%-48s %s%n", check.name(), "ERROR " + e);
            }
        }
        long[] mem = gpu.memoryInUse();
        System.out.printf("%d checks, %d failed; device memory: %d MiB live, %d MiB cached%n", run, failed,
                mem[0] >> 20, mem[1] >> 20);
        System.exit(failed == 0 ? 0 : 1);
    }
}
