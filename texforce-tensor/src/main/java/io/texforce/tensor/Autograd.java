package io.texforce.tensor;

import java.util.ArrayDeque;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.IdentityHashMap;
import java.util.List;
import java.util.Map;

/**
 * Reverse-mode automatic differentiation over the dynamic graph that {@link Tensor} operations record.
 */
public final class Autograd {
    private Autograd() {
    }

    /** True when an op on these inputs must record a node: grad mode is on and some input requires grad. */
    public static boolean needsGrad(Tensor... inputs) {
        if (!GradMode.isEnabled()) {
            return false;
        }
        for (Tensor t : inputs) {
            if (t != null && t.requiresGrad()) {
                return true;
            }
        }
        return false;
    }

    /**
     * Attaches a backward function to {@code output} when {@link #needsGrad} holds for {@code inputs}; returns
     * {@code output}. This is how every differentiable op, built-in or user-defined, enters the graph.
     */
    public static Tensor record(Tensor output, String name, Node.Backward backward, Tensor... inputs) {
        if (needsGrad(inputs)) {
            output.setGradFn(new Node(name, backward, inputs));
        }
        return output;
    }

    /** Back-propagates {@code gradOutput} from {@code root}; leaf tensors accumulate into {@link Tensor#grad()}. */
    static void backward(Tensor root, Tensor gradOutput, boolean retainGraph) {
        if (!Arrays.equals(root.shape(), gradOutput.shape())) {
            throw new IllegalArgumentException("gradient of shape " + Shape.str(gradOutput.shape())
                    + " for a tensor of shape " + Shape.str(root.shape()));
        }
        if (root.gradFn() == null) {
            if (!root.requiresGrad()) {
                throw new IllegalStateException("backward() on a tensor that does not require grad");
            }
            root.accumulateGrad(gradOutput);
            return;
        }
        List<Node> order = topologicalOrder(root.gradFn());
        Map<Node, Tensor> grads = new IdentityHashMap<>();
        grads.put(root.gradFn(), gradOutput);
        try (var scope = GradMode.noGrad()) {
            for (Node node : order) {
                Tensor g = grads.remove(node);
                if (g == null) {
                    continue;
                }
                Node.Edge[] edges = node.edges();
                Tensor[] inGrads = node.backward().apply(g);
                g = null;
                if (!retainGraph) {
                    node.release();
                }
                for (int i = 0; i < edges.length; i++) {
                    Node.Edge edge = edges[i];
                    Tensor gi = inGrads[i];
                    if (edge == null || gi == null) {
                        continue;
                    }
                    if (!Arrays.equals(gi.shape(), edge.shape())) {
                        throw new IllegalStateException("backward of '" + node.name() + "' produced a gradient of shape "
                                + Shape.str(gi.shape()) + " for input " + i + " of shape " + Shape.str(edge.shape()));
                    }
                    inGrads[i] = null;
                    if (edge.producer() == null) {
                        edge.leaf().accumulateGrad(gi);
                    } else {
                        grads.merge(edge.producer(), gi, Tensor::add);
                    }
                }
            }
        }
    }

    /** Nodes ordered so that each comes before every node it depends on (iterative DFS: graphs are deep). */
    private static List<Node> topologicalOrder(Node root) {
        List<Node> post = new ArrayList<>();
        Map<Node, Boolean> seen = new IdentityHashMap<>();
        ArrayDeque<Object[]> stack = new ArrayDeque<>();
        stack.push(new Object[]{root, 0});
        seen.put(root, Boolean.TRUE);
        while (!stack.isEmpty()) {
            Object[] frame = stack.peek();
            Node node = (Node) frame[0];
            int next = (Integer) frame[1];
            Node.Edge[] edges = node.edges();
            boolean pushed = false;
            while (next < edges.length) {
                Node.Edge edge = edges[next++];
                Node child = edge == null ? null : edge.producer();
                if (child != null && seen.put(child, Boolean.TRUE) == null) {
                    frame[1] = next;
                    stack.push(new Object[]{child, 0});
                    pushed = true;
                    break;
                }
            }
            if (!pushed) {
                stack.pop();
                post.add(node);
            }
        }
        java.util.Collections.reverse(post);
        return post;
    }
}
