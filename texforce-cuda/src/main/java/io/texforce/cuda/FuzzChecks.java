package io.texforce.cuda;

import io.texforce.tensor.Backend;
import io.texforce.tensor.BinaryOp;
import io.texforce.tensor.ReduceOp;
import io.texforce.tensor.Tensor;
import io.texforce.tensor.WeightDtype;

import java.util.ArrayList;
import java.util.Arrays;
import java.util.List;
import java.util.Random;
import java.util.function.Function;

/**
 * Seeded random parity checks of the CUDA backend against the CPU: strided views (permuted, narrowed, expanded)
 * through broadcasting binary ops, unary ops, reductions over random dims, batched matmuls with transposes and
 * broadcast batches, concatenation, where, softmax and dense copies, and gradients through such views and
 * broadcasts. They test the Java side's view and broadcast handling (indexers, dense copies, GEMM strides) on
 * shapes no hand-written check has. Run by the emulator tests and by {@link GpuSelfTest}.
 */
final class FuzzChecks {
    /** Float32 element-wise work and short sums: only the order of a few additions differs. */
    static final double TOLERANCE = 1e-5;

    private FuzzChecks() {
    }

    /** {@code forward} random op cases and {@code gradients} random gradient cases, from {@code seed}. */
    static List<ParityCheck> cases(long seed, int forward, int gradients) {
        Random r = new Random(seed);
        List<ParityCheck> out = new ArrayList<>();
        for (int i = 0; i < forward; i++) {
            Case c = randomCase(r, i, WeightDtype.FP32);
            out.add(new ParityCheck("fuzz " + c.name(), TOLERANCE, be -> new Tensor[]{c.op().apply(be)}));
        }
        for (int i = 0; i < gradients; i++) {
            int[] shape = randomShape(r, 1 + r.nextInt(4));
            out.add(new ParityCheck("fuzz " + i + ": gradients for " + Arrays.toString(shape), TOLERANCE,
                    gradientCase(r, shape)));
        }
        return out;
    }

    /**
     * {@code forward} random op cases on 16-bit activations: every input is a view of a base tensor holding values of
     * {@code format}, stored in that format on the GPU (whose activations are then {@code format} too) and as
     * float32 on the CPU; both sides' outputs are rounded to the format before they are compared, so they differ by
     * at most one unit in its last place (plus float32 slack).
     */
    static List<ParityCheck> halfCases(long seed, int forward, WeightDtype format) {
        Random r = new Random(seed);
        List<ParityCheck> out = new ArrayList<>();
        for (int i = 0; i < forward; i++) {
            Case c = randomCase(r, i, format);
            out.add(new ParityCheck("fuzz " + format.cliName() + " " + c.name(),
                    HalfActivationChecks.ulp(format) + TOLERANCE, be -> {
                        if (!(be instanceof CudaBackend g)) {
                            return new Tensor[]{HalfActivationChecks.rounded(c.op().apply(be), format)};
                        }
                        try (var scope = g.activations(format)) {
                            return new Tensor[]{HalfActivationChecks.rounded(c.op().apply(be), format)};
                        }
                    }));
        }
        return out;
    }

    /**
     * A recipe for a tensor, replayed on each backend: random data of a base shape (values of {@code format},
     * stored in it on the GPU), then view operations.
     */
    private record Recipe(float[] data, int[] base, List<Function<Tensor, Tensor>> views, WeightDtype format) {
        Tensor build(Backend b) {
            Tensor t = Tensor.of(b, data, base);
            return view(format.isHalf() && b instanceof CudaBackend ? t.to(format) : t);
        }

        /** The views applied to {@code leaf} (a base tensor built from {@link #data}, e.g. one that requires grad). */
        Tensor view(Tensor leaf) {
            Tensor t = leaf;
            for (Function<Tensor, Tensor> v : views) t = v.apply(t);
            return t;
        }
    }

    private static int[] randomShape(Random r, int rank) {
        int[] s = new int[rank];
        for (int i = 0; i < rank; i++) s[i] = 1 + r.nextInt(6);
        return s;
    }

    /** A tensor of {@code shape} reached through random views of a larger or permuted base. */
    private static Recipe recipe(Random r, int[] shape, WeightDtype format) {
        int rank = shape.length;
        List<Function<Tensor, Tensor>> views = new ArrayList<>();
        int[] base = shape.clone();
        // Narrow: the base is longer along one dim and we take a window of it.
        int nd = r.nextInt(rank + 1) - 1;
        int start = 0;
        if (nd >= 0) {
            start = r.nextInt(3);
            base[nd] = shape[nd] + start + r.nextInt(2);
        }
        // Permute: the base is stored in another order.
        int[] perm = identity(rank);
        if (r.nextBoolean()) shuffle(r, perm);
        int[] stored = new int[rank];
        // Dim i of the view is dim perm[i] of the stored tensor, so permute(perm) brings it back.
        for (int i = 0; i < rank; i++) stored[perm[i]] = base[i];
        views.add(t -> t.permute(perm));
        if (nd >= 0) {
            int d = nd, s = start, len = shape[nd];
            views.add(t -> t.narrow(d, s, len));
        }
        // Expand: a dim of the shape may come from size 1.
        int ed = r.nextInt(rank + 1) - 1;
        if (ed >= 0 && shape[ed] > 1 && r.nextInt(3) == 0) {
            int d = ed;
            int[] target = shape.clone();
            views.add(t -> t.narrow(d, 0, 1).expand(target));
        }
        int n = 1;
        for (int v : stored) n *= v;
        float[] data = new float[n];
        for (int i = 0; i < n; i++) data[i] = format.round((float) r.nextGaussian());
        return new Recipe(data, stored, views, format);
    }

    private static int[] identity(int n) {
        int[] p = new int[n];
        for (int i = 0; i < n; i++) p[i] = i;
        return p;
    }

    private static void shuffle(Random r, int[] a) {
        for (int i = a.length - 1; i > 0; i--) {
            int j = r.nextInt(i + 1), t = a[i];
            a[i] = a[j];
            a[j] = t;
        }
    }

    /** {@code shape} with random dims set to 1 and maybe leading dims dropped: broadcastable to it. */
    private static int[] broadcastable(Random r, int[] shape) {
        int drop = r.nextInt(shape.length);
        int[] s = Arrays.copyOfRange(shape, drop, shape.length);
        for (int i = 0; i < s.length; i++) if (r.nextInt(3) == 0) s[i] = 1;
        return s;
    }

    private record Case(String name, Function<Backend, Tensor> op) {
    }

    private static Case randomCase(Random r, int index, WeightDtype format) {
        int rank = 1 + r.nextInt(4);
        int[] shape = randomShape(r, rank);
        Recipe a = recipe(r, shape, format);
        String s = Arrays.toString(shape);
        switch (r.nextInt(8)) {
            case 0 -> {
                Recipe b = recipe(r, broadcastable(r, shape), format);
                BinaryOp op = BinaryOp.values()[r.nextInt(6)];
                boolean swap = r.nextBoolean();
                return new Case(index + ": binary " + op + " " + s, be -> swap
                        ? be.binary(op, b.build(be), a.build(be)) : be.binary(op, a.build(be), b.build(be)));
            }
            case 1 -> {
                int which = r.nextInt(5);
                return new Case(index + ": unary " + which + " " + s, be -> {
                    Tensor t = a.build(be);
                    return switch (which) {
                        case 0 -> t.exp();
                        case 1 -> t.tanh();
                        case 2 -> t.sigmoid();
                        case 3 -> t.abs().sqrt();
                        default -> t.silu();
                    };
                });
            }
            case 2 -> {
                List<Integer> dims = new ArrayList<>();
                for (int d = 0; d < rank; d++) if (r.nextBoolean()) dims.add(d);
                if (dims.isEmpty()) dims.add(r.nextInt(rank));
                int[] ds = dims.stream().mapToInt(Integer::intValue).toArray();
                boolean keep = r.nextBoolean();
                ReduceOp op = ReduceOp.values()[r.nextInt(4)];
                return new Case(index + ": reduce " + op + " " + s + " over " + Arrays.toString(ds) + " keep " + keep,
                        be -> be.reduce(op, a.build(be), ds, keep));
            }
            case 3 -> {
                int m = 1 + r.nextInt(9), k = 1 + r.nextInt(9), n = 1 + r.nextInt(9);
                boolean ta = r.nextBoolean(), tb = r.nextBoolean();
                int[] batch = randomShape(r, r.nextInt(3));
                int[] batchB = broadcastable(r, batch.length == 0 ? new int[]{1} : batch);
                if (batch.length == 0) batchB = new int[0];
                int[] as = concat(batch, ta ? new int[]{k, m} : new int[]{m, k});
                int[] bs = concat(r.nextBoolean() ? batchB : batch, tb ? new int[]{n, k} : new int[]{k, n});
                Recipe ra = recipe(r, as, format), rb = recipe(r, bs, format);
                return new Case(index + ": matmul " + Arrays.toString(as) + (ta ? "^T" : "") + " x "
                        + Arrays.toString(bs) + (tb ? "^T" : ""),
                        be -> Tensor.matmul(ra.build(be), rb.build(be), ta, tb));
            }
            case 4 -> {
                int dim = r.nextInt(rank);
                int[] other = shape.clone();
                other[dim] = 1 + r.nextInt(4);
                Recipe b = recipe(r, other, format);
                return new Case(index + ": concat " + s + " + " + Arrays.toString(other) + " along " + dim,
                        be -> Tensor.concat(List.of(a.build(be), b.build(be), a.build(be)), dim));
            }
            case 5 -> {
                Recipe c = recipe(r, broadcastable(r, shape), format), b = recipe(r, broadcastable(r, shape), format);
                return new Case(index + ": where " + s, be -> Tensor.where(c.build(be).gt(be.full(new int[]{1}, 0f)),
                        a.build(be), b.build(be)));
            }
            case 6 -> {
                return new Case(index + ": softmax " + s, be -> a.build(be).softmax());
            }
            default -> {
                return new Case(index + ": contiguous copy " + s, be -> a.build(be).contiguous());
            }
        }
    }

    /**
     * Gradients through views and broadcasts: leaves x and y (their base tensors) require grad, z = f(view(x) op
     * view(y)) for a random binary op and a random f, and L = sum(z * g); returns dL/dx and dL/dy.
     */
    private static Function<Backend, Tensor[]> gradientCase(Random r, int[] shape) {
        Recipe a = recipe(r, shape, WeightDtype.FP32), b = recipe(r, broadcastable(r, shape), WeightDtype.FP32);
        int op = r.nextInt(3), f = r.nextInt(4);
        int n = 1;
        for (int v : shape) n *= v;
        float[] g = new float[n];
        for (int i = 0; i < n; i++) g[i] = (float) r.nextGaussian();
        return be -> {
            Tensor x = Tensor.of(be, a.data(), a.base()).requiresGrad(true);
            Tensor y = Tensor.of(be, b.data(), b.base()).requiresGrad(true);
            Tensor u = a.view(x), v = b.view(y);
            Tensor z = switch (op) {
                case 0 -> u.add(v);
                case 1 -> u.mul(v);
                default -> u.sub(v.tanh());
            };
            z = switch (f) {
                case 0 -> z.softmax();
                case 1 -> z.silu();
                case 2 -> z.square();
                default -> z;
            };
            z.mul(Tensor.of(be, g, shape)).sum().backward();
            return new Tensor[]{x.grad(), y.grad()};
        };
    }

    private static int[] concat(int[] a, int[] b) {
        int[] r = Arrays.copyOf(a, a.length + b.length);
        System.arraycopy(b, 0, r, a.length, b.length);
        return r;
    }

}
