package io.texforce.tensor;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertNotNull;
import static org.junit.jupiter.api.Assertions.assertNull;
import static org.junit.jupiter.api.Assertions.assertSame;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.util.List;
import java.util.Random;
import java.util.concurrent.atomic.AtomicInteger;
import org.junit.jupiter.api.Test;

/** Gradients through checkpointed segments are bit-identical to those through the same ops recorded in full. */
class CheckpointTest {
    private static Tensor random(long seed, int... shape) {
        Random r = new Random(seed);
        float[] data = new float[Shape.numel(shape)];
        for (int i = 0; i < data.length; i++) {
            data[i] = (float) r.nextGaussian() * 0.5f;
        }
        return Tensor.of(data, shape);
    }

    /** Leaves of a small network: an input and two weights. */
    private record Leaves(Tensor x, Tensor w1, Tensor w2, Tensor c) {
        static Leaves create() {
            return new Leaves(random(1, 3, 4).requiresGrad(true), random(2, 4, 4).requiresGrad(true),
                    random(3, 4, 4).requiresGrad(true), random(4, 3, 4));
        }

        List<Tensor> trainable() {
            return List.of(x, w1, w2);
        }
    }

    /**
     * Four outputs: one mixing the input twice, an intermediate, one that depends on no trainable tensor, and an
     * input passed through. The input h also feeds ops outside the segment.
     */
    private static Tensor[] segment(Leaves p, Tensor h, Tensor c) {
        Tensor a = h.matmul(p.w1).tanh();
        Tensor out = a.mul(h).matmul(p.w2).add(h);
        return new Tensor[]{out, a, c.exp(), c};
    }

    private static Tensor loss(Leaves p, boolean checkpointed) {
        Tensor h = p.x.mul(1.5f).tanh();
        Checkpoint.Segment seg = in -> segment(p, in[0], in[1]);
        Tensor[] o = checkpointed ? Checkpoint.apply(seg, List.of(p.w1, p.w2), h, p.c) : seg.apply(h, p.c);
        return o[0].square().sum().add(o[1].mul(h).sum()).add(o[2].mul(o[0]).sum()).add(o[3].mul(h).sum())
                .add(h.square().mean());
    }

    private static List<float[]> gradients(Leaves p) {
        return p.trainable().stream().map(t -> t.grad().toFloatArray()).toList();
    }

    private static void assertBitIdentical(List<float[]> expected, List<float[]> actual, String what) {
        for (int i = 0; i < expected.size(); i++) {
            assertArrayEquals(expected.get(i), actual.get(i), what + ": gradient " + i + " differs");
        }
    }

    @Test
    void multiOutputSegmentGivesTheSameGradientsBitForBit() {
        Leaves plain = Leaves.create();
        Tensor l0 = loss(plain, false);
        l0.backward();
        Leaves ckpt = Leaves.create();
        Tensor l1 = loss(ckpt, true);
        assertEquals(l0.item(), l1.item(), 0f);
        l1.backward();
        assertBitIdentical(gradients(plain), gradients(ckpt), "multi-output segment");
        assertNull(ckpt.c.grad(), "a constant input received a gradient");
    }

    @Test
    void segmentRunsTwiceWithGradAndOutputsAreNodesOfTheGraph() {
        AtomicInteger runs = new AtomicInteger();
        Tensor x = random(5, 2, 3).requiresGrad(true);
        Tensor[] out = Checkpoint.apply(in -> {
            runs.incrementAndGet();
            return new Tensor[]{in[0].exp()};
        }, List.of(), x);
        assertEquals(1, runs.get());
        assertEquals("checkpoint_output", out[0].gradFn().name());
        out[0].sum().backward();
        assertEquals(2, runs.get());
        assertArrayEquals(x.detach().exp().toFloatArray(), x.grad().toFloatArray(), 0f);
    }

    @Test
    void withoutGradTheSegmentJustRuns() {
        AtomicInteger runs = new AtomicInteger();
        Checkpoint.Segment seg = in -> {
            runs.incrementAndGet();
            return new Tensor[]{in[0].exp()};
        };
        Tensor w = random(6, 2, 3).requiresGrad(true);
        Tensor[] out;
        try (var g = GradMode.noGrad()) {
            out = Checkpoint.apply(seg, List.of(w), w);
        }
        assertFalse(out[0].requiresGrad());
        Tensor frozen = random(7, 2, 3);
        Tensor[] out2 = Checkpoint.apply(seg, List.of(frozen), frozen);
        assertFalse(out2[0].requiresGrad());
        assertEquals(2, runs.get());
    }

    @Test
    void parametersClosedOverReceiveGradientsWhenNoInputRequiresGrad() {
        Tensor x = random(8, 3, 4);
        Tensor w1 = random(9, 4, 4).requiresGrad(true);
        Tensor plain = x.matmul(w1).tanh().sum();
        plain.backward();
        float[] expected = w1.grad().toFloatArray();
        w1.zeroGrad();
        Tensor[] out = Checkpoint.apply(in -> new Tensor[]{in[0].matmul(w1).tanh()}, List.of(w1), x);
        out[0].sum().backward();
        assertArrayEquals(expected, w1.grad().toFloatArray());
    }

    @Test
    void nestedCheckpointsGiveTheSameGradients() {
        Leaves plain = Leaves.create();
        Tensor ref = nested(plain, false);
        ref.backward();
        Leaves ckpt = Leaves.create();
        Tensor l = nested(ckpt, true);
        assertEquals(ref.item(), l.item(), 0f);
        l.backward();
        assertBitIdentical(gradients(plain), gradients(ckpt), "nested checkpoints");
    }

    /** An outer segment whose body checkpoints an inner segment between two ops of its own. */
    private static Tensor nested(Leaves p, boolean checkpointed) {
        Checkpoint.Segment inner = in -> new Tensor[]{in[0].matmul(p.w2).sigmoid().mul(in[0])};
        Checkpoint.Segment outer = in -> {
            Tensor h = in[0].matmul(p.w1).tanh();
            Tensor g = checkpointed ? Checkpoint.apply(inner, List.of(p.w2), h)[0] : inner.apply(h)[0];
            return new Tensor[]{g.add(h).mul(in[0])};
        };
        Tensor h = p.x.mul(0.75f);
        Tensor out = checkpointed ? Checkpoint.apply(outer, List.of(p.w1, p.w2), h)[0] : outer.apply(h)[0];
        return out.square().sum().add(h.sum());
    }

    @Test
    void retainedGraphRecomputesOnEveryBackward() {
        Leaves plain = Leaves.create();
        Tensor ref = loss(plain, false);
        ref.backward(Tensor.scalar(1f), true);
        ref.backward(Tensor.scalar(1f), true);
        Leaves ckpt = Leaves.create();
        Tensor l = loss(ckpt, true);
        l.backward(Tensor.scalar(1f), true);
        l.backward(Tensor.scalar(1f), true);
        assertBitIdentical(gradients(plain), gradients(ckpt), "two backward passes");
    }

    @Test
    void unusedOutputsAndPassThroughInputsNeedNoGradient() {
        Tensor x = random(10, 2, 2).requiresGrad(true);
        Tensor[] out = Checkpoint.apply(in -> new Tensor[]{in[0], in[0].exp(), in[0].mul(3f)}, List.of(), x);
        assertSame(x, out[0]);
        out[2].sum().backward();
        assertNotNull(x.grad());
        assertTrue(java.util.Arrays.equals(Tensor.full(3f, 2, 2).toFloatArray(), x.grad().toFloatArray()));
    }

    @Test
    void segmentThatChangesShapeOnReplayIsReported() {
        Tensor x = random(11, 2, 2).requiresGrad(true);
        AtomicInteger runs = new AtomicInteger();
        Tensor[] out = Checkpoint.apply(in -> new Tensor[]{runs.getAndIncrement() == 0 ? in[0].exp()
                : in[0].reshape(4).exp()}, List.of(), x);
        var e = assertThrows(IllegalStateException.class, () -> out[0].sum().backward());
        assertTrue(e.getMessage().contains("[4]") && e.getMessage().contains("[2, 2]"), e.getMessage());
    }
}
