package io.texforce.rl;

import io.texforce.tensor.Tensor;
import io.texforce.tensor.Parity;
import io.texforce.tensor.TestData;
import io.texforce.tensor.io.SafeTensors;
import io.texforce.unet.scheduler.DdimScheduler;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.ValueSource;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

/** DDPO's ddim_step_with_logprob at eta = 1 on the tiny-sd1 goldens (50 steps; t = 981, 481 and the last, 1). */
class DdimPolicyGoldenTest {
    static SafeTensors golden;
    static DdimPolicy policy;

    @BeforeAll
    static void load() {
        golden = SafeTensors.open(TestData.tinySd1().resolve("golden/golden.safetensors"));
        policy = new DdimPolicy(DdimScheduler.load(TestData.tinySd1().resolve("scheduler/scheduler_config.json")), 50, 1f);
    }

    @AfterAll
    static void close() {
        golden.close();
    }

    static double maxAbsDiff(Tensor a, Tensor b) {
        return Parity.maxAbsDiff(a, b);
    }

    static void check(String what, Tensor actual, Tensor expected) {
        double err = maxAbsDiff(actual, expected);
        System.out.printf("%s max abs error %.3e%n", what, err);
        assertTrue(err < 1e-4, what + " max abs error " + err);
    }

    @ParameterizedTest
    @ValueSource(strings = {"first", "mid", "last"})
    void sampledStepAndLogProbsMatchDdpo(String which) {
        String k = "ddim." + which + ".";
        int[] t = golden.ints(k + "timestep");
        Tensor eps = golden.tensor(k + "model_output"), x = golden.tensor(k + "sample");
        DdimPolicy.Transition sampled = policy.sample(eps, t, x, golden.tensor(k + "noise"));
        check(k + "prev_sample", sampled.prevSample(), golden.tensor(k + "prev_sample"));
        check(k + "log_prob (sampled)", sampled.logProb(), golden.tensor(k + "log_prob"));
        check(k + "log_prob (given)", policy.logProb(eps, t, x, golden.tensor(k + "prev_sample")),
                golden.tensor(k + "log_prob"));
        check(k + "other_log_prob", policy.logProb(eps, t, x, golden.tensor(k + "other_prev_sample")),
                golden.tensor(k + "other_log_prob"));
    }

    @ParameterizedTest
    @ValueSource(strings = {"first", "mid", "last"})
    void perSampleTimestepsGiveTheSameLogProbs(String which) {
        String k = "ddim." + which + ".";
        int t = golden.ints(k + "timestep")[0];
        Tensor lp = policy.logProb(golden.tensor(k + "model_output"), new int[]{t, t}, golden.tensor(k + "sample"),
                golden.tensor(k + "other_prev_sample"));
        check(k + "other_log_prob (per-sample timesteps)", lp, golden.tensor(k + "other_log_prob"));
    }
}
