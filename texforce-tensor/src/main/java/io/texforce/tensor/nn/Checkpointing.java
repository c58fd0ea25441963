package io.texforce.tensor.nn;

import io.texforce.tensor.Checkpoint;
import io.texforce.tensor.GradMode;
import io.texforce.tensor.Tensor;

import java.util.ArrayList;
import java.util.List;

/** Runs a part of a model's forward pass through {@link Checkpoint} when the model has checkpointing switched on. */
public final class Checkpointing {
    private Checkpointing() {
    }

    /**
     * Runs {@code segment} on {@code inputs}, checkpointed when {@code enabled} and grad mode is on; {@code modules}
     * are the modules the segment computes with (nulls are skipped), whose parameters and LoRA adapters decide
     * whether there is anything to differentiate.
     */
    public static Tensor[] run(boolean enabled, List<? extends Module> modules, Checkpoint.Segment segment,
                               Tensor... inputs) {
        if (!enabled || !GradMode.isEnabled()) {
            return segment.apply(inputs);
        }
        List<Tensor> weights = new ArrayList<>();
        for (Module m : modules) {
            if (m != null) {
                weights.addAll(m.parametersAndAdapters());
            }
        }
        return Checkpoint.apply(segment, weights, inputs);
    }
}
