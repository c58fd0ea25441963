package io.texforce.tensor;

/**
 * One recorded operation of the autograd graph: the inputs it read and the function that maps the gradient of
 * its output to the gradients of those inputs.
 */
public final class Node {
    /** Maps the output gradient to one gradient per input (null where an input needs none). */
    @FunctionalInterface
    public interface Backward {
        Tensor[] apply(Tensor gradOutput);
    }

    private final String name;
    private final Tensor[] inputs;
    private Backward backward;

    Node(String name, Backward backward, Tensor[] inputs) {
        this.name = name;
        this.backward = backward;
        this.inputs = inputs;
    }

    public String name() {
        return name;
    }

    Tensor[] inputs() {
        return inputs;
    }

    Backward backward() {
        if (backward == null) {
            throw new IllegalStateException("backward through '" + name + "' a second time: the graph was freed by the"
                    + " first backward(); pass retainGraph=true to keep it");
        }
        return backward;
    }

    void release() {
        backward = null;
    }
}
