package io.texforce.tensor;

import java.util.Arrays;
import java.util.Collection;
import java.util.IdentityHashMap;
import java.util.Map;

/**
 * Activation checkpointing: a segment of the forward pass that keeps only its inputs and re-runs itself during
 * backward, trading one extra forward of the segment for the memory of every activation inside it.
 *
 * <p>The forward runs without recording a graph. One node stands for the whole segment; when the backward pass
 * reaches it, the segment runs again with grad recording on, on fresh leaves that share the inputs' data, and a
 * nested backward pass goes through that fresh graph. Gradients that reach the fresh leaves are handed to the
 * running pass along the inputs' own edges, one contribution at a time, and parameters the segment closes over
 * accumulate as they would without checkpointing; with deterministic kernels the gradients are bit-identical.
 *
 * <p>Every output is marked as requiring grad (what an output depends on is only known by recording it); an
 * output that is one of the inputs is returned as is. An output whose recomputation turns out not to require
 * grad simply receives no gradient. The segment must be a pure function of its inputs and the weights it
 * closes over: those must not change between forward and backward.
 */
public final class Checkpoint {
    private Checkpoint() {
    }

    /** A part of the forward pass, run once without and once (at backward time) with grad recording. */
    @FunctionalInterface
    public interface Segment {
        Tensor[] apply(Tensor... inputs);
    }

    /**
     * Runs {@code segment} on {@code inputs} (entries may be null) with checkpointing, or plainly when grad mode
     * is off or neither an input nor one of {@code parameters} (the trainable tensors the segment closes over)
     * requires grad.
     */
    public static Tensor[] apply(Segment segment, Collection<Tensor> parameters, Tensor... inputs) {
        if (!GradMode.isEnabled() || !(anyRequiresGrad(Arrays.asList(inputs)) || anyRequiresGrad(parameters))) {
            return segment.apply(inputs);
        }
        Tensor[] values;
        try (var g = GradMode.noGrad()) {
            values = segment.apply(inputs);
        }
        Tensor[] outputs = new Tensor[values.length];
        Tensor[] outputGrads = new Tensor[values.length];
        Tensor token = Tensor.scalar(0f);
        token.setGradFn(new Node("checkpoint", recompute(segment, inputs, values, outputGrads), inputs));
        for (int i = 0; i < values.length; i++) {
            if (values[i] == null) {
                throw new IllegalStateException("checkpointed segment returned null as output " + i);
            }
            if (indexOf(inputs, values[i]) >= 0) {
                outputs[i] = values[i];
                continue;
            }
            int index = i;
            // Each output's node parks its gradient and passes a dummy one on to the segment's node, which the
            // engine therefore reaches once, after the nodes of all outputs.
            outputs[i] = values[i].detach();
            outputs[i].setGradFn(new Node("checkpoint_output", g -> {
                outputGrads[index] = g;
                return new Tensor[]{Tensor.scalar(0f)};
            }, new Tensor[]{token}));
        }
        return outputs;
    }

    /** The backward function of the segment's node: re-runs the segment and back-propagates the parked gradients. */
    private static Node.Backward recompute(Segment segment, Tensor[] inputs, Tensor[] values, Tensor[] outputGrads) {
        int n = inputs.length;
        Node.Edge[] edges = new Node.Edge[n];
        Tensor[] saved = new Tensor[n];
        for (int i = 0; i < n; i++) {
            edges[i] = Node.Edge.of(inputs[i]);
            saved[i] = inputs[i] == null ? null : inputs[i].detach();
        }
        int[][] shapes = Arrays.stream(values).map(v -> v == null ? null : v.shape()).toArray(int[][]::new);
        boolean[] passThrough = new boolean[values.length];
        for (int i = 0; i < values.length; i++) {
            passThrough[i] = indexOf(inputs, values[i]) >= 0;
        }
        return ignored -> {
            Map<Tensor, Node.Edge> handBack = new IdentityHashMap<>();
            Tensor[] replay = new Tensor[n];
            for (int i = 0; i < n; i++) {
                if (saved[i] != null) {
                    replay[i] = saved[i].detach();
                    if (edges[i] != null) {
                        replay[i].tracked();
                        handBack.put(replay[i], edges[i]);
                    }
                }
            }
            Tensor[] again;
            try (var g = GradMode.enableGrad()) {
                again = segment.apply(replay);
            }
            if (again.length != shapes.length) {
                throw new IllegalStateException("checkpointed segment returned " + again.length + " outputs when re-run"
                        + " but " + shapes.length + " the first time");
            }
            Tensor[] seeds = outputGrads.clone();
            Arrays.fill(outputGrads, null);
            for (int i = 0; i < again.length; i++) {
                if (again[i] == null || !Arrays.equals(again[i].shape(), shapes[i])) {
                    throw new IllegalStateException("checkpointed segment's output " + i + " has shape "
                            + (again[i] == null ? "null" : Shape.str(again[i].shape())) + " when re-run but "
                            + Shape.str(shapes[i]) + " the first time");
                }
                if (passThrough[i]) {
                    seeds[i] = null;
                }
            }
            Autograd.backwardWithin(again, seeds, handBack);
            return new Tensor[n];
        };
    }

    private static boolean anyRequiresGrad(Collection<Tensor> tensors) {
        for (Tensor t : tensors) {
            if (t != null && t.requiresGrad()) {
                return true;
            }
        }
        return false;
    }

    private static int indexOf(Tensor[] tensors, Tensor t) {
        for (int i = 0; i < tensors.length; i++) {
            if (tensors[i] == t) {
                return i;
            }
        }
        return -1;
    }
}
