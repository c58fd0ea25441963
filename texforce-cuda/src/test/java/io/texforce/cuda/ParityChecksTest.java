package io.texforce.cuda;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;
import static org.junit.jupiter.api.DynamicTest.dynamicTest;

import io.texforce.tensor.Tensor;
import io.texforce.tensor.cpu.CpuBackend;
import org.junit.jupiter.api.DynamicTest;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.TestFactory;

import java.util.List;
import java.util.Set;
import java.util.stream.Collectors;
import java.util.stream.Stream;

/**
 * The reference side of every GPU parity check runs here on the CPU, so a broken check shows up before device time
 * is spent on it; {@link CudaParityTest} and {@link GpuSelfTest} run the GPU side.
 */
class ParityChecksTest {
    @Test
    void namesAreUniqueAndCoverTheSixteenBitPaths() {
        List<String> names = ParityChecks.all().stream().map(ParityCheck::name).toList();
        assertEquals(names.size(), Set.copyOf(names).size(), "duplicate check names");
        for (String format : new String[]{"bf16", "fp16"}) {
            Set<String> ops = names.stream().filter(n -> n.contains(format)).map(n -> n.split(" ")[0])
                    .collect(Collectors.toSet());
            System.out.println(format + " checks: " + names.stream().filter(n -> n.contains(format)).count()
                    + " over " + ops);
            assertTrue(ops.containsAll(Set.of("round", "widen", "matmul", "conv2d", "embedding", "addInPlace")),
                    format + ": " + ops);
        }
    }

    @TestFactory
    Stream<DynamicTest> referenceSidesRunOnTheCpu() {
        return ParityChecks.all().stream().map(check -> dynamicTest(check.name(), () -> {
            Tensor[] out = check.op().apply(CpuBackend.INSTANCE);
            assertTrue(out.length > 0 && out[0] != null, check.name() + ": no output");
            if (check.name().startsWith("round to")) {
                return;  // infinities and NaN on purpose
            }
            for (Tensor t : out) {
                if (t == null) {
                    continue;
                }
                for (float v : t.toFloatArray()) {
                    assertTrue(Float.isFinite(v), () -> check.name() + ": non-finite output " + v);
                }
            }
        }));
    }
}
