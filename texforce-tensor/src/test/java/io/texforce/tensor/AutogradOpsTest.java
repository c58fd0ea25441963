package io.texforce.tensor;

import org.junit.jupiter.api.Test;

import java.util.List;
import java.util.Random;

import static io.texforce.tensor.GradCheck.check;
import static io.texforce.tensor.GradCheck.randn;
import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;

/** Finite-difference checks of every differentiable op's backward. */
class AutogradOpsTest {
    private final Random rnd = new Random(7);

    private Tensor positive(int... shape) {
        return randn(rnd, shape).abs().add(0.5f).detach();
    }

    @Test
    void unaryOps() {
        check("neg", in -> in.get(0).neg(), List.of(randn(rnd, 3, 4)));
        check("exp", in -> in.get(0).exp(), List.of(randn(rnd, 3, 4)));
        check("log", in -> in.get(0).log(), List.of(positive(3, 4)));
        check("sqrt", in -> in.get(0).sqrt(), List.of(positive(3, 4)));
        check("rsqrt", in -> in.get(0).rsqrt(), List.of(positive(3, 4)));
        check("square", in -> in.get(0).square(), List.of(randn(rnd, 3, 4)));
        check("abs", in -> in.get(0).abs(), List.of(positive(3, 4)));
        check("reciprocal", in -> in.get(0).reciprocal(), List.of(positive(3, 4)));
        check("tanh", in -> in.get(0).tanh(), List.of(randn(rnd, 3, 4)));
        check("sigmoid", in -> in.get(0).sigmoid(), List.of(randn(rnd, 3, 4)));
        check("relu", in -> in.get(0).relu(), List.of(positive(3, 4)));
        check("gelu", in -> in.get(0).gelu(), List.of(randn(rnd, 3, 4)));
        check("gelu_tanh", in -> in.get(0).geluTanh(), List.of(randn(rnd, 3, 4)));
        check("quick_gelu", in -> in.get(0).quickGelu(), List.of(randn(rnd, 3, 4)));
        check("silu", in -> in.get(0).silu(), List.of(randn(rnd, 3, 4)));
        check("pow", in -> in.get(0).pow(1.7f), List.of(positive(3, 4)));
        check("add_scalar", in -> in.get(0).add(2.5f), List.of(randn(rnd, 3, 4)));
        check("mul_scalar", in -> in.get(0).mul(-1.5f), List.of(randn(rnd, 3, 4)));
        check("clamp", in -> in.get(0).mul(3f).clamp(-1f, 1f), List.of(randn(rnd, 4, 5)));
    }

    @Test
    void binaryOpsWithBroadcasting() {
        check("add", in -> in.get(0).add(in.get(1)), List.of(randn(rnd, 2, 3, 4), randn(rnd, 3, 1)));
        check("sub", in -> in.get(0).sub(in.get(1)), List.of(randn(rnd, 2, 1, 4), randn(rnd, 3, 4)));
        check("mul", in -> in.get(0).mul(in.get(1)), List.of(randn(rnd, 2, 3, 4), randn(rnd, 4)));
        check("div", in -> in.get(0).div(in.get(1)), List.of(randn(rnd, 2, 3), positive(2, 1)));
        check("maximum", in -> in.get(0).maximum(in.get(1)), List.of(randn(rnd, 3, 4), randn(rnd, 3, 4)));
        check("minimum", in -> in.get(0).minimum(in.get(1)), List.of(randn(rnd, 3, 4), randn(rnd, 1, 4)));
        check("pow_tensor", in -> in.get(0).pow(in.get(1)), List.of(positive(3, 4), randn(rnd, 3, 4)));
        Tensor cond = randn(rnd, 3, 4).gt(Tensor.scalar(0f));
        check("where", in -> Tensor.where(cond, in.get(0), in.get(1)), List.of(randn(rnd, 3, 4), randn(rnd, 4)));
    }

    @Test
    void reductions() {
        check("sum_all", in -> in.get(0).sum(), List.of(randn(rnd, 3, 4)));
        check("sum_dims", in -> in.get(0).sum(new int[]{0, 2}, false), List.of(randn(rnd, 2, 3, 4)));
        check("sum_keep", in -> in.get(0).sum(1, true), List.of(randn(rnd, 2, 3, 4)));
        check("mean", in -> in.get(0).mean(new int[]{1, 2}, true), List.of(randn(rnd, 2, 3, 4)));
        check("mean_lead", in -> in.get(0).mean(0, false), List.of(randn(rnd, 5, 3)));
        check("max", in -> in.get(0).max(1, false), List.of(randn(rnd, 3, 5)));
        check("min", in -> in.get(0).min(new int[]{0}, true), List.of(randn(rnd, 3, 5)));
    }

    @Test
    void maxGradientIsSharedAtTies() {
        Tensor x = Tensor.of(new float[]{1, 3, 3, 2}, 4).requiresGrad(true);
        x.max().backward();
        assertArrayEquals(new float[]{0, 0.5f, 0.5f, 0}, x.grad().toFloatArray());
    }

    @Test
    void matmulAllTransposesAndBatchBroadcast() {
        for (boolean ta : new boolean[]{false, true}) {
            for (boolean tb : new boolean[]{false, true}) {
                int[] as = ta ? new int[]{2, 4, 3} : new int[]{2, 3, 4};
                int[] bs = tb ? new int[]{5, 4} : new int[]{4, 5};
                check("matmul ta=" + ta + " tb=" + tb, in -> Tensor.matmul(in.get(0), in.get(1), ta, tb),
                        List.of(randn(rnd, as), randn(rnd, bs)));
                check("matmul batched ta=" + ta + " tb=" + tb, in -> Tensor.matmul(in.get(0), in.get(1), ta, tb),
                        List.of(randn(rnd, as), randn(rnd, tb ? new int[]{2, 5, 4} : new int[]{2, 4, 5})));
            }
        }
        check("matmul shared a", in -> in.get(0).matmul(in.get(1)), List.of(randn(rnd, 3, 4), randn(rnd, 2, 4, 2)));
    }

    @Test
    void viewsAndShapeOps() {
        check("reshape", in -> in.get(0).reshape(4, -1).mul(in.get(0).reshape(4, 3)), List.of(randn(rnd, 2, 6)));
        check("permute", in -> in.get(0).permute(2, 0, 1).contiguous(), List.of(randn(rnd, 2, 3, 4)));
        check("transpose_mul", in -> in.get(0).transpose(0, 1).mul(in.get(1)), List.of(randn(rnd, 3, 2), randn(rnd, 2, 3)));
        check("narrow", in -> in.get(0).narrow(1, 1, 2), List.of(randn(rnd, 3, 4)));
        check("select", in -> in.get(0).select(0, 2), List.of(randn(rnd, 3, 4)));
        check("chunk", in -> in.get(0).chunk(2, -1).get(1).mul(in.get(0).chunk(2, -1).get(0)), List.of(randn(rnd, 3, 4)));
        check("expand", in -> in.get(0).expand(2, 3, 4), List.of(randn(rnd, 3, 1)));
        check("unsqueeze_squeeze", in -> in.get(0).unsqueeze(1).squeeze(1).unsqueeze(0), List.of(randn(rnd, 3, 4)));
        check("concat", in -> Tensor.concat(List.of(in.get(0), in.get(1)), 1), List.of(randn(rnd, 2, 3), randn(rnd, 2, 2)));
        check("stack", in -> Tensor.stack(List.of(in.get(0), in.get(1)), 0), List.of(randn(rnd, 2, 3), randn(rnd, 2, 3)));
        check("softmax", in -> in.get(0).softmax(), List.of(randn(rnd, 3, 5)));
    }

    @Test
    void nnFunctions() {
        check("linear", in -> Functional.linear(in.get(0), in.get(1), in.get(2)),
                List.of(randn(rnd, 2, 3, 4), randn(rnd, 5, 4), randn(rnd, 5)));
        for (int stride : new int[]{1, 2}) {
            for (int pad : new int[]{0, 1}) {
                int s = stride, p = pad;
                check("conv2d s" + s + " p" + p, in -> Functional.conv2d(in.get(0), in.get(1), in.get(2), s, p),
                        List.of(randn(rnd, 2, 3, 5, 6), randn(rnd, 4, 3, 3, 3), randn(rnd, 4)));
            }
        }
        check("conv2d 1x1", in -> Functional.conv2d(in.get(0), in.get(1), null, 1, 0),
                List.of(randn(rnd, 1, 3, 4, 4), randn(rnd, 2, 3, 1, 1)));
        check("group_norm", in -> Functional.groupNorm(in.get(0), 2, in.get(1), in.get(2), 1e-5f),
                List.of(randn(rnd, 2, 4, 3, 3), randn(rnd, 4), randn(rnd, 4)));
        check("layer_norm", in -> Functional.layerNorm(in.get(0), in.get(1), in.get(2), 1e-5f),
                List.of(randn(rnd, 3, 6), randn(rnd, 6), randn(rnd, 6)));
        for (boolean causal : new boolean[]{false, true}) {
            check("attention causal=" + causal,
                    in -> Functional.attention(in.get(0), in.get(1), in.get(2), 0.5f, causal),
                    List.of(randn(rnd, 2, 2, 5, 3), randn(rnd, 2, 2, 5, 3), randn(rnd, 2, 2, 5, 4)));
        }
        check("cross attention", in -> Functional.attention(in.get(0), in.get(1), in.get(2), 0.4f, false),
                List.of(randn(rnd, 2, 6, 3), randn(rnd, 2, 4, 3), randn(rnd, 2, 4, 2)));
        check("embedding", in -> Functional.embedding(in.get(0), new int[]{2, 0, 2, 4}), List.of(randn(rnd, 5, 3)));
        check("upsample", in -> Functional.upsampleNearest2x(in.get(0)), List.of(randn(rnd, 1, 2, 3, 2)));
        check("geglu", in -> Functional.geglu(in.get(0)), List.of(randn(rnd, 2, 3, 8)));
    }

    @Test
    void gradientsAccumulateAcrossBackwardCalls() {
        Tensor x = Tensor.of(new float[]{1, 2, 3}, 3).requiresGrad(true);
        x.mul(2f).sum().backward();
        x.square().sum().backward();
        assertArrayEquals(new float[]{4, 6, 8}, x.grad().toFloatArray(), 1e-6f);
        x.zeroGrad();
        assertEquals(null, x.grad());
    }

    @Test
    void sharedSubgraphGradientsAdd() {
        Tensor x = Tensor.of(new float[]{1, 2}, 2).requiresGrad(true);
        Tensor y = x.mul(3f);
        y.mul(y).add(y).sum().backward();
        // d/dx (9x^2 + 3x) = 18x + 3
        assertArrayEquals(new float[]{21, 39}, x.grad().toFloatArray(), 1e-5f);
    }

    @Test
    void noGradScopeRecordsNothing() {
        Tensor x = Tensor.of(new float[]{1, 2}, 2).requiresGrad(true);
        Tensor y;
        try (var g = GradMode.noGrad()) {
            y = x.mul(2f);
        }
        assertEquals(null, y.gradFn());
        assertEquals(false, y.requiresGrad());
        assertEquals(true, x.mul(2f).requiresGrad());
    }

    @Test
    void detachCutsTheGraph() {
        Tensor x = Tensor.of(new float[]{1, 2}, 2).requiresGrad(true);
        Tensor y = x.mul(2f).detach().mul(x).sum();
        y.backward();
        assertArrayEquals(new float[]{2, 4}, x.grad().toFloatArray(), 1e-6f);
    }

    @Test
    void secondBackwardThroughFreedGraphIsAClearError() {
        Tensor x = Tensor.of(new float[]{1, 2}, 2).requiresGrad(true);
        Tensor y = x.square().sum();
        y.backward();
        IllegalStateException e = assertThrows(IllegalStateException.class, y::backward);
        assertEquals(true, e.getMessage().contains("retainGraph"));
    }

    @Test
    void deepGraphsDoNotOverflowTheStack() {
        Tensor x = Tensor.of(new float[]{1}, 1).requiresGrad(true);
        Tensor y = x;
        for (int i = 0; i < 100_000; i++) {
            y = y.add(1f);
        }
        y.sum().backward();
        assertArrayEquals(new float[]{1}, x.grad().toFloatArray());
    }

    @Test
    void gradCheckCatchesAWrongBackward() {
        // A user-defined op whose backward is off by a factor: the checker must reject it.
        java.util.function.Function<List<Tensor>, Tensor> wrong = in -> {
            Tensor x = in.get(0);
            Tensor out = x.detach().mul(3f);
            return Autograd.record(out, "wrong", g -> new Tensor[]{g.mul(2.9f)}, x);
        };
        assertThrows(org.opentest4j.AssertionFailedError.class, () -> check("wrong", wrong, List.of(randn(rnd, 4))));
    }
}
