package io.texforce.tensor;

/**
 * One recorded operation of the autograd graph: where the gradient of each input goes and the function that maps
 * the gradient of its output to the gradients of those inputs.
 *
 * <p>A node does not hold its input tensors, only their producers (or, for leaves, the leaf to accumulate into)
 * and shapes: an activation stays alive only while some backward function actually captured it, so ops such as
 * a convolution with frozen weights or a bias add free their inputs as soon as the forward pass moves on.
 */
public final class Node {
    /** Maps the output gradient to one gradient per input (null where an input needs none). */
    @FunctionalInterface
    public interface Backward {
        Tensor[] apply(Tensor gradOutput);
    }

    /**
     * Where the gradient of one input goes: to the node that produced it, or else into the leaf itself.
     */
    record Edge(Node producer, Tensor leaf, int[] shape) {
        static Edge of(Tensor input) {
            if (input == null || !input.requiresGrad()) {
                return null;
            }
            Node producer = input.gradFn();
            return new Edge(producer, producer == null ? input : null, input.shape());
        }
    }

    private final String name;
    private Edge[] edges;
    private Backward backward;

    Node(String name, Backward backward, Tensor[] inputs) {
        this.name = name;
        this.backward = backward;
        this.edges = new Edge[inputs.length];
        for (int i = 0; i < inputs.length; i++) {
            edges[i] = Edge.of(inputs[i]);
        }
    }

    public String name() {
        return name;
    }

    /** One entry per input; null where the input does not require grad. */
    Edge[] edges() {
        if (edges == null) {
            throw freed();
        }
        return edges;
    }

    Backward backward() {
        if (backward == null) {
            throw freed();
        }
        return backward;
    }

    private IllegalStateException freed() {
        return new IllegalStateException("backward through '" + name + "' a second time: the graph was freed by the"
                + " first backward(); pass retainGraph=true to keep it");
    }

    /** Drops the backward function and the edges, so that what they kept alive can be collected. */
    void release() {
        backward = null;
        edges = null;
    }
}
