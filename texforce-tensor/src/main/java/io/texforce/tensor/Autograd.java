package io.texforce.tensor;

import java.util.ArrayDeque;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.Collections;
import java.util.IdentityHashMap;
import java.util.List;
import java.util.Map;

/**
 * Reverse-mode automatic differentiation over the dynamic graph that {@link Tensor} operations record.
 *
 * <p>A backward function may itself run a backward pass ({@link Checkpoint} does: it re-runs its segment and
 * back-propagates through the fresh graph). Each pass keeps its state to itself; the thread only remembers the
 * innermost running pass, so that a nested one can hand gradients back to it.
 */
public final class Autograd {
    private static final ThreadLocal<Pass> RUNNING = new ThreadLocal<>();

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
        checkShape(root, gradOutput);
        if (root.gradFn() == null && !root.requiresGrad()) {
            throw new IllegalStateException("backward() on a tensor that does not require grad");
        }
        new Pass(retainGraph, null, Map.of()).run(new Tensor[]{root}, new Tensor[]{gradOutput});
    }

    /**
     * Back-propagates from several roots inside the running backward pass, through a graph of its own that is
     * freed afterwards. Roots that do not require grad, and null gradients, are skipped. A gradient that reaches
     * a key of {@code handBack} is not accumulated there: the running pass receives it as a gradient along the
     * mapped edge, exactly as if the nested graph had been part of its own. Leaves elsewhere accumulate as usual.
     */
    static void backwardWithin(Tensor[] roots, Tensor[] gradOutputs, Map<Tensor, Node.Edge> handBack) {
        Pass outer = RUNNING.get();
        if (outer == null) {
            throw new IllegalStateException("a nested backward pass needs a running one");
        }
        for (int i = 0; i < roots.length; i++) {
            if (gradOutputs[i] != null) {
                checkShape(roots[i], gradOutputs[i]);
            }
        }
        new Pass(false, outer, handBack).run(roots, gradOutputs);
    }

    private static void checkShape(Tensor root, Tensor gradOutput) {
        if (!Arrays.equals(root.shape(), gradOutput.shape())) {
            throw new IllegalArgumentException("gradient of shape " + Shape.str(gradOutput.shape())
                    + " for a tensor of shape " + Shape.str(root.shape()));
        }
    }

    /** One run of the backward algorithm: the gradients pending per node, and where leaf gradients go. */
    private static final class Pass {
        private final boolean retainGraph;
        private final Pass outer;
        private final Map<Tensor, Node.Edge> handBack;
        private final Map<Node, Tensor> grads = new IdentityHashMap<>();

        Pass(boolean retainGraph, Pass outer, Map<Tensor, Node.Edge> handBack) {
            this.retainGraph = retainGraph;
            this.outer = outer;
            this.handBack = handBack;
        }

        void run(Tensor[] roots, Tensor[] gradOutputs) {
            Pass previous = RUNNING.get();
            RUNNING.set(this);
            try (var scope = GradMode.noGrad()) {
                List<Node> rootNodes = new ArrayList<>();
                for (int i = 0; i < roots.length; i++) {
                    Tensor root = roots[i];
                    if (gradOutputs[i] == null || !root.requiresGrad()) {
                        continue;
                    }
                    if (root.gradFn() == null) {
                        deliver(Node.Edge.of(root), gradOutputs[i]);
                    } else {
                        rootNodes.add(root.gradFn());
                        grads.merge(root.gradFn(), gradOutputs[i], Tensor::add);
                    }
                }
                for (Node node : topologicalOrder(rootNodes)) {
                    propagate(node);
                }
            } finally {
                RUNNING.set(previous);
            }
        }

        private void propagate(Node node) {
            Tensor g = grads.remove(node);
            if (g == null) {
                return;
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
                deliver(edge, gi);
            }
        }

        /** Sends a gradient along an edge: to its producer's pending sum, back to the outer pass, or into a leaf. */
        private void deliver(Node.Edge edge, Tensor g) {
            if (edge.producer() != null) {
                grads.merge(edge.producer(), g, Tensor::add);
                return;
            }
            Node.Edge outerEdge = handBack.get(edge.leaf());
            if (outerEdge != null) {
                outer.deliver(outerEdge, g);
            } else {
                edge.leaf().accumulateGrad(g);
            }
        }
    }

    /**
     * Nodes reachable from {@code roots}, ordered so that each comes before every node it depends on (iterative
     * DFS: graphs are deep). The reversed post-orders of successive searches concatenate into one valid order,
     * since a later search only finishes nodes that no earlier one reached.
     */
    private static List<Node> topologicalOrder(List<Node> roots) {
        List<Node> post = new ArrayList<>();
        Map<Node, Boolean> seen = new IdentityHashMap<>();
        ArrayDeque<Object[]> stack = new ArrayDeque<>();
        for (Node root : roots) {
            if (seen.put(root, Boolean.TRUE) != null) {
                continue;
            }
            stack.push(new Object[]{root, 0});
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
        }
        Collections.reverse(post);
        return post;
    }
}
