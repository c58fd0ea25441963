package io.texforce.tensor.cpu;

import io.texforce.tensor.Backend;
import io.texforce.tensor.BinaryOp;
import io.texforce.tensor.MatmulShape;
import io.texforce.tensor.ReduceOp;
import io.texforce.tensor.ReducePlan;
import io.texforce.tensor.Shape;
import io.texforce.tensor.Storage;
import io.texforce.tensor.Tensor;
import io.texforce.tensor.UnaryOp;
import io.texforce.tensor.WeightDtype;
import io.texforce.tensor.random.Philox;

import java.util.Arrays;
import java.util.List;

/**
 * The reference backend: heap float arrays, fork/join parallel loops and Vector API kernels
 * ({@link Gemm}, {@link Conv2dKernel}, {@link AttentionKernel}, {@link NormKernels}).
 *
 * <p>Tensors may also live in a 16-bit {@link HalfStorage} (frozen weights). Matrix products, convolutions and
 * embeddings read such a weight directly; every other kernel reads it through {@link #dense} / {@link #readable},
 * which widen it to float32 ({@link HalfStorage#widen()}, the one conversion path). Kernels never write into a
 * 16-bit storage, except {@link #addInPlace} (LoRA merging), which rounds the sum back to 16 bits.
 */
public final class CpuBackend implements Backend {
    public static final CpuBackend INSTANCE = new CpuBackend();

    /** Elementwise loops below this many elements run on the calling thread. */
    private static final int GRAIN = 1 << 14;

    private CpuBackend() {
    }

    @Override
    public String name() {
        return "cpu";
    }

    @Override
    public Storage allocate(int size) {
        return new CpuStorage(new float[size]);
    }

    @Override
    public Storage fromHost(float[] data) {
        return new CpuStorage(data);
    }

    @Override
    public Storage fromHostHalf(short[] bits, WeightDtype dtype) {
        return new HalfStorage(bits, dtype);
    }

    // ------------------------------------------------------------------ helpers

    private static Tensor wrap(float[] data, int... shape) {
        return new Tensor(new CpuStorage(data), shape, Shape.contiguousStrides(shape), 0);
    }

    /**
     * The float32 elements of t's storage, to read t through its strides: the backing array itself, or a widened
     * copy of a 16-bit storage.
     */
    private static float[] readable(Tensor t) {
        return switch (t.storage()) {
            case CpuStorage cs -> cs.data();
            case HalfStorage hs -> hs.widen();
            default -> throw foreign(t);
        };
    }

    /** The backing array of a tensor a kernel writes into: float32 only. */
    private static float[] writable(Tensor t) {
        return switch (t.storage()) {
            case CpuStorage cs -> cs.data();
            case HalfStorage hs -> throw new IllegalArgumentException("cannot write into a " + hs.dtype().cliName()
                    + " tensor of shape " + Shape.str(t.shape()) + ": 16-bit storage holds frozen weights, which"
                    + " only LoRA merging (addInPlace) updates");
            default -> throw foreign(t);
        };
    }

    private static IllegalArgumentException foreign(Tensor t) {
        return new IllegalArgumentException("tensor on backend " + t.backend().name() + " passed to the CPU backend");
    }

    /**
     * t's 16-bit storage when t covers all of it in row-major order (a loaded weight, or a reshape of one), so a
     * kernel can index the bits directly; null for float32 tensors and for strided views of 16-bit ones.
     */
    private static HalfStorage wholeHalf(Tensor t) {
        return t.storage() instanceof HalfStorage hs && t.isContiguous() && t.offset() == 0 && hs.size() == t.numel()
                ? hs : null;
    }

    /** The elements of t as a dense row-major float32 array: the backing array itself when it already is one. */
    static float[] dense(Tensor t) {
        float[] data = readable(t);
        if (t.isContiguous() && t.offset() == 0 && data.length == t.numel()) {
            return data;
        }
        float[] out = new float[t.numel()];
        copyStrided(data, t.offset(), t.strides(), t.shape(), out, 0, Shape.contiguousStrides(t.shape()));
        return out;
    }

    private static float[] denseOrNull(Tensor t) {
        return t == null ? null : dense(t);
    }

    /** Strides of t broadcast to {@code shape} (0 on broadcast dims). */
    private static int[] broadcastStrides(Tensor t, int[] shape) {
        int[] ts = t.shape(), st = t.strides();
        int[] out = new int[shape.length];
        int lead = shape.length - ts.length;
        for (int i = lead; i < shape.length; i++) {
            out[i] = ts[i - lead] == 1 ? 0 : st[i - lead];
        }
        return out;
    }

    /**
     * Merges adjacent dims that every operand walks as one (stride[d] == stride[d+1] * shape[d+1]), so that rows
     * get long: [B, C, H, W] + [B, C, 1, 1] becomes rows of H * W instead of W. Replaces {@code strides} in place
     * and returns the merged shape.
     */
    private static int[] coalesce(int[] shape, int[][] strides) {
        int rank = shape.length;
        if (rank <= 1) {
            return shape;
        }
        int[] s = new int[rank];
        int[][] st = new int[strides.length][rank];
        int k = 0;
        for (int d = 0; d < rank; d++) {
            boolean merge = k > 0;
            for (int o = 0; o < strides.length && merge; o++) {
                merge = st[o][k - 1] == strides[o][d] * shape[d];
            }
            if (merge) {
                s[k - 1] *= shape[d];
                for (int o = 0; o < strides.length; o++) {
                    st[o][k - 1] = strides[o][d];
                }
            } else {
                s[k] = shape[d];
                for (int o = 0; o < strides.length; o++) {
                    st[o][k] = strides[o][d];
                }
                k++;
            }
        }
        for (int o = 0; o < strides.length; o++) {
            strides[o] = Arrays.copyOf(st[o], k);
        }
        return Arrays.copyOf(s, k);
    }

    /**
     * Visits every row (all indices but the last) of {@code shape}: gives the row number and, per operand, the
     * offset of the row's first element. Rows are split across threads.
     */
    private interface RowBody {
        void row(int row, int[] offsets);
    }

    private static void forEachRow(int[] shape, int[][] strides, int[] baseOffsets, RowBody body) {
        int rank = shape.length;
        int inner = rank == 0 ? 1 : shape[rank - 1];
        int rows = inner == 0 ? 0 : Shape.numel(shape) / Math.max(1, inner);
        if (rank <= 1) {
            if (rows > 0) {
                body.row(0, baseOffsets.clone());
            }
            return;
        }
        int grain = Math.max(1, GRAIN / Math.max(1, inner));
        Parallel.forRange(rows, grain, (lo, hi) -> {
            int ops = strides.length;
            int[] idx = new int[rank - 1];
            int rem = lo;
            for (int d = rank - 2; d >= 0; d--) {
                idx[d] = rem % shape[d];
                rem /= shape[d];
            }
            int[] off = new int[ops];
            for (int o = 0; o < ops; o++) {
                int v = baseOffsets[o];
                for (int d = 0; d < rank - 1; d++) {
                    v += idx[d] * strides[o][d];
                }
                off[o] = v;
            }
            for (int r = lo; r < hi; r++) {
                body.row(r, off);
                for (int d = rank - 2; d >= 0; d--) {
                    idx[d]++;
                    for (int o = 0; o < ops; o++) {
                        off[o] += strides[o][d];
                    }
                    if (idx[d] < shape[d]) {
                        break;
                    }
                    for (int o = 0; o < ops; o++) {
                        off[o] -= strides[o][d] * shape[d];
                    }
                    idx[d] = 0;
                }
            }
        });
    }

    private static void copyStrided(float[] src, int srcOff, int[] srcStrides, int[] fullShape,
                                    float[] dst, int dstOff, int[] dstStrides) {
        if (fullShape.length == 0) {
            dst[dstOff] = src[srcOff];
            return;
        }
        int[][] strides = {srcStrides, dstStrides};
        int[] shape = coalesce(fullShape, strides);
        int rank = shape.length;
        int inner = shape[rank - 1];
        int ss = strides[0][rank - 1], ds = strides[1][rank - 1];
        forEachRow(shape, strides, new int[]{srcOff, dstOff}, (row, off) -> {
            int s = off[0], d = off[1];
            if (ss == 1 && ds == 1) {
                System.arraycopy(src, s, dst, d, inner);
            } else {
                for (int i = 0; i < inner; i++) {
                    dst[d + i * ds] = src[s + i * ss];
                }
            }
        });
    }

    // ------------------------------------------------------------------ data movement

    @Override
    public float[] toHost(Tensor t) {
        float[] d = dense(t);
        return t.storage() instanceof CpuStorage cs && d == cs.data() ? d.clone() : d;
    }

    @Override
    public void copy(Tensor src, Tensor dst) {
        if (!Arrays.equals(src.shape(), dst.shape())) {
            throw new IllegalArgumentException("copy of shape " + Shape.str(src.shape()) + " into " + Shape.str(dst.shape()));
        }
        copyStrided(readable(src), src.offset(), src.strides(), src.shape(), writable(dst), dst.offset(),
                dst.strides());
    }

    @Override
    public Tensor full(int[] shape, float value) {
        float[] d = new float[Shape.numel(shape)];
        if (value != 0f) {
            Arrays.fill(d, value);
        }
        return wrap(d, shape);
    }

    @Override
    public Tensor random(int[] shape, long seed, long offset, boolean uniform) {
        float[] d = new float[Shape.numel(shape)];
        if (uniform) {
            Philox.uniform(seed, offset, d, 0, d.length);
        } else {
            Philox.normal(seed, offset, d, 0, d.length);
        }
        return wrap(d, shape);
    }

    // ------------------------------------------------------------------ elementwise

    @Override
    public Tensor unary(UnaryOp op, Tensor x, float p) {
        float[] a = dense(x);
        float[] o = new float[a.length];
        if (ActivationKernels.supports(op)) {
            Parallel.forRange(a.length, GRAIN, (lo, hi) -> ActivationKernels.forward(op, p, a, o, lo, hi));
            return wrap(o, x.shape());
        }
        Parallel.forRange(a.length, GRAIN, (lo, hi) -> {
            switch (op) {
                case LOG -> { for (int i = lo; i < hi; i++) o[i] = (float) Math.log(a[i]); }
                case SQRT -> { for (int i = lo; i < hi; i++) o[i] = (float) Math.sqrt(a[i]); }
                case RSQRT -> { for (int i = lo; i < hi; i++) o[i] = (float) (1.0 / Math.sqrt(a[i])); }
                case RECIPROCAL -> { for (int i = lo; i < hi; i++) o[i] = 1f / a[i]; }
                case TANH -> { for (int i = lo; i < hi; i++) o[i] = (float) Math.tanh(a[i]); }
                case GELU_TANH -> { for (int i = lo; i < hi; i++) o[i] = ScalarMath.geluTanh(a[i]); }
                case QUICK_GELU -> { for (int i = lo; i < hi; i++) o[i] = a[i] * ScalarMath.sigmoid(1.702f * a[i]); }
                case POW -> { for (int i = lo; i < hi; i++) o[i] = pow(a[i], p); }
                default -> throw new IllegalStateException(op + " has a SIMD kernel");
            }
        });
        return wrap(o, x.shape());
    }

    private static float pow(float x, float p) {
        if (p == 2f) {
            return x * x;
        }
        if (p == 1f) {
            return x;
        }
        if (p == 0.5f) {
            return (float) Math.sqrt(x);
        }
        return (float) Math.pow(x, p);
    }

    @Override
    public Tensor unaryBackward(UnaryOp op, Tensor gy, Tensor x, float p) {
        float[] g = dense(gy), a = dense(x);
        float[] o = new float[a.length];
        if (ActivationKernels.supports(op)) {
            Parallel.forRange(a.length, GRAIN, (lo, hi) -> ActivationKernels.backward(op, p, g, a, o, lo, hi));
            return wrap(o, x.shape());
        }
        Parallel.forRange(a.length, GRAIN, (lo, hi) -> {
            for (int i = lo; i < hi; i++) {
                float v = a[i];
                float d = switch (op) {
                    case LOG -> 1f / v;
                    case SQRT -> (float) (0.5 / Math.sqrt(v));
                    case TANH -> {
                        float t = (float) Math.tanh(v);
                        yield 1f - t * t;
                    }
                    case RSQRT -> (float) (-0.5 / (v * Math.sqrt(v)));
                    case RECIPROCAL -> -1f / (v * v);
                    case GELU_TANH -> ScalarMath.geluTanhGrad(v);
                    case QUICK_GELU -> {
                        float s = ScalarMath.sigmoid(1.702f * v);
                        yield s + 1.702f * v * s * (1f - s);
                    }
                    case POW -> p == 0f ? 0f : p * pow(v, p - 1f);
                    default -> throw new IllegalStateException(op + " has a SIMD kernel");
                };
                o[i] = g[i] * d;
            }
        });
        return wrap(o, x.shape());
    }

    @Override
    public Tensor binary(BinaryOp op, Tensor a, Tensor b) {
        int[] outShape = Shape.broadcast(a.shape(), b.shape());
        float[] o = new float[Shape.numel(outShape)];
        float[] da = readable(a), db = readable(b);
        int[][] strides = {broadcastStrides(a, outShape), broadcastStrides(b, outShape),
                Shape.contiguousStrides(outShape)};
        int[] shape = coalesce(outShape, strides);
        int rank = shape.length;
        int[] sa = strides[0], sb = strides[1];
        int inner = rank == 0 ? 1 : shape[rank - 1];
        int ia = rank == 0 ? 0 : sa[rank - 1], ib = rank == 0 ? 0 : sb[rank - 1];
        forEachRow(shape, strides, new int[]{a.offset(), b.offset(), 0}, (row, off) ->
                BinaryKernels.row(op, da, off[0], ia, db, off[1], ib, o, off[2], inner));
        return wrap(o, outShape);
    }

    @Override
    public Tensor where(Tensor cond, Tensor a, Tensor b) {
        int[] shape = Shape.broadcast(Shape.broadcast(cond.shape(), a.shape()), b.shape());
        float[] o = new float[Shape.numel(shape)];
        float[] dc = readable(cond), da = readable(a), db = readable(b);
        int rank = shape.length;
        int[] sc = broadcastStrides(cond, shape), sa = broadcastStrides(a, shape), sb = broadcastStrides(b, shape);
        int inner = rank == 0 ? 1 : shape[rank - 1];
        int ic = rank == 0 ? 0 : sc[rank - 1], ia = rank == 0 ? 0 : sa[rank - 1], ib = rank == 0 ? 0 : sb[rank - 1];
        forEachRow(shape, new int[][]{sc, sa, sb, Shape.contiguousStrides(shape)},
                new int[]{cond.offset(), a.offset(), b.offset(), 0}, (row, off) -> {
                    for (int i = 0; i < inner; i++) {
                        o[off[3] + i] = dc[off[0] + i * ic] != 0f ? da[off[1] + i * ia] : db[off[2] + i * ib];
                    }
                });
        return wrap(o, shape);
    }

    @Override
    public Tensor clamp(Tensor x, float min, float max) {
        float[] a = dense(x);
        float[] o = new float[a.length];
        Parallel.forRange(a.length, GRAIN, (lo, hi) -> {
            for (int i = lo; i < hi; i++) {
                o[i] = Math.min(Math.max(a[i], min), max);
            }
        });
        return wrap(o, x.shape());
    }

    // ------------------------------------------------------------------ reductions

    @Override
    public Tensor reduce(ReduceOp op, Tensor x, int[] dims, boolean keepDim) {
        ReducePlan plan = ReducePlan.of(x.shape(), dims, keepDim);
        int[] perm = plan.perm(), outShape = plan.outShape();
        int outer = plan.outer(), len = plan.len();
        float[] o = new float[outer];
        boolean leadingReduced = x.isContiguous() && plan.leading();
        if (leadingReduced && op != ReduceOp.MAX && op != ReduceOp.MIN) {
            // Column reduction (e.g. bias gradients): stream rows, accumulate in double per column.
            float[] a = dense(x);
            int rows = len, cols = outer;
            int lenF = len;
            Parallel.forRange(cols, Math.max(1, GRAIN / Math.max(1, rows)), (lo, hi) -> {
                double[] acc = new double[hi - lo];
                for (int r = 0; r < rows; r++) {
                    int base = r * cols;
                    for (int c = lo; c < hi; c++) {
                        acc[c - lo] += a[base + c];
                    }
                }
                for (int c = lo; c < hi; c++) {
                    o[c] = (float) (op == ReduceOp.MEAN ? acc[c - lo] / lenF : acc[c - lo]);
                }
            });
            return wrap(o, outShape);
        }
        float[] a = dense(x.detach().permute(perm));
        int lenF = len;
        Parallel.forRange(outer, Math.max(1, GRAIN / Math.max(1, len)), (lo, hi) -> {
            for (int r = lo; r < hi; r++) {
                int base = r * lenF;
                switch (op) {
                    case SUM, MEAN -> {
                        double s = 0;
                        for (int i = 0; i < lenF; i++) {
                            s += a[base + i];
                        }
                        o[r] = (float) (op == ReduceOp.MEAN ? s / lenF : s);
                    }
                    case MAX -> {
                        float m = Float.NEGATIVE_INFINITY;
                        for (int i = 0; i < lenF; i++) {
                            m = Math.max(m, a[base + i]);
                        }
                        o[r] = m;
                    }
                    case MIN -> {
                        float m = Float.POSITIVE_INFINITY;
                        for (int i = 0; i < lenF; i++) {
                            m = Math.min(m, a[base + i]);
                        }
                        o[r] = m;
                    }
                }
            }
        });
        return wrap(o, outShape);
    }


    // ------------------------------------------------------------------ linear algebra

    @Override
    public Tensor matmul(Tensor a, Tensor b, boolean transA, boolean transB) {
        MatmulShape g = MatmulShape.of(a.shape(), b.shape(), transA, transB);
        int m = g.m(), n = g.n(), k = g.k(), nb = g.batchCount();
        float[] c = new float[nb * m * n];
        if (g.empty()) {
            return wrap(c, g.outShape());
        }
        // A shared 16-bit weight is read by the GEMM directly; one 16-bit operand per product (the other widens).
        HalfStorage hb = g.bShared() ? wholeHalf(b) : null;
        HalfStorage ha = g.aShared() && hb == null ? wholeHalf(a) : null;
        float[] db = hb != null ? null : g.bShared() ? dense(b) : dense(b.expand(g.bRows()));
        if (g.bShared() && !transA && nb > 1) {
            // Fold a's batch into rows: one large GEMM against the shared b (the Linear-layer case).
            float[] da = dense(a.expand(MatmulShape.withMatrix(g.batch(), m, k)));
            Gemm.gemmBatched(1, false, transB, nb * m, n, k, da, null, 0, k, 0, db, hb, 0, g.ldb(), 0,
                    c, 0, n, 0, false);
            return wrap(c, g.outShape());
        }
        float[] da = ha != null ? null : g.aShared() ? dense(a) : dense(a.expand(g.aRows()));
        Gemm.gemmBatched(nb, transA, transB, m, n, k,
                da, ha, 0, g.lda(), g.aShared() ? 0 : m * k,
                db, hb, 0, g.ldb(), g.bShared() ? 0 : k * n,
                c, 0, n, m * n, false);
        return wrap(c, g.outShape());
    }


    @Override
    public Tensor concat(List<Tensor> parts, int dim) {
        int[] shape = Shape.concat(parts.stream().map(Tensor::shape).toList(), dim);
        Tensor out = full(shape, 0f);
        int start = 0;
        for (Tensor t : parts) {
            int len = t.shape()[dim];
            copy(t, out.detach().narrow(dim, start, len));
            start += len;
        }
        return out;
    }

    // ------------------------------------------------------------------ nn kernels

    @Override
    public Tensor embedding(Tensor weight, int[] ids) {
        int vocab = weight.shape()[0], dim = weight.shape()[1];
        HalfStorage half = wholeHalf(weight);
        float[] w = half == null ? dense(weight) : null;
        float[] o = new float[ids.length * dim];
        for (int i = 0; i < ids.length; i++) {
            if (ids[i] < 0 || ids[i] >= vocab) {
                throw new IndexOutOfBoundsException("token id " + ids[i] + " at position " + i
                        + " is outside the embedding table of " + vocab + " rows");
            }
            if (half == null) {
                System.arraycopy(w, ids[i] * dim, o, i * dim, dim);
            } else {
                half.widen(ids[i] * dim, o, i * dim, dim);
            }
        }
        return wrap(o, ids.length, dim);
    }

    @Override
    public Tensor embeddingBackward(Tensor gy, int[] ids, int vocab) {
        int dim = gy.shape()[gy.dim() - 1];
        float[] g = dense(gy);
        float[] o = new float[vocab * dim];
        for (int i = 0; i < ids.length; i++) {
            int base = ids[i] * dim;
            for (int j = 0; j < dim; j++) {
                o[base + j] += g[i * dim + j];
            }
        }
        return wrap(o, vocab, dim);
    }

    private static void checkConv(int[] xs, int[] ws) {
        if (xs.length != 4 || ws.length != 4 || xs[1] != ws[1]) {
            throw new IllegalArgumentException("conv2d of input " + Shape.str(xs) + " with weight " + Shape.str(ws)
                    + " (expected [N, C, H, W] and [O, C, kh, kw])");
        }
    }

    @Override
    public Tensor conv2d(Tensor x, Tensor weight, Tensor bias, int stride, int padding) {
        int[] xs = x.shape(), ws = weight.shape();
        checkConv(xs, ws);
        int oh = Conv2dKernel.outSize(xs[2], ws[2], stride, padding);
        int ow = Conv2dKernel.outSize(xs[3], ws[3], stride, padding);
        float[] y = new float[xs[0] * ws[0] * oh * ow];
        HalfStorage half = wholeHalf(weight);
        if (half != null) {
            Conv2dKernel.forward(dense(x), xs[0], xs[1], xs[2], xs[3], half, ws[0], ws[2], ws[3],
                    denseOrNull(bias), stride, padding, padding, y);
        } else {
            Conv2dKernel.forward(dense(x), xs[0], xs[1], xs[2], xs[3], dense(weight), ws[0], ws[2], ws[3],
                    denseOrNull(bias), stride, padding, padding, y);
        }
        return wrap(y, xs[0], ws[0], oh, ow);
    }

    @Override
    public Tensor conv2dBackwardInput(Tensor gy, Tensor weight, int[] xs, int stride, int padding) {
        int[] ws = weight.shape();
        checkConv(xs, ws);
        float[] gx = new float[Shape.numel(xs)];
        HalfStorage half = wholeHalf(weight);
        if (half != null) {
            Conv2dKernel.backwardInput(dense(gy), half, xs[0], xs[1], xs[2], xs[3], ws[0], ws[2], ws[3],
                    stride, padding, padding, gx);
        } else {
            Conv2dKernel.backwardInput(dense(gy), dense(weight), xs[0], xs[1], xs[2], xs[3], ws[0], ws[2], ws[3],
                    stride, padding, padding, gx);
        }
        return wrap(gx, xs);
    }

    @Override
    public Tensor[] conv2dBackwardWeight(Tensor gy, Tensor x, int[] ws, int stride, int padding, boolean withBias) {
        int[] xs = x.shape();
        checkConv(xs, ws);
        float[] gw = new float[Shape.numel(ws)];
        float[] gb = withBias ? new float[ws[0]] : null;
        Conv2dKernel.backwardWeight(dense(gy), dense(x), xs[0], xs[1], xs[2], xs[3], ws[0], ws[2], ws[3],
                stride, padding, padding, gw, gb);
        return new Tensor[]{wrap(gw, ws), withBias ? wrap(gb, ws[0]) : null};
    }

    private static int spatial(int[] s) {
        int sp = 1;
        for (int i = 2; i < s.length; i++) {
            sp *= s[i];
        }
        return sp;
    }

    @Override
    public Tensor[] groupNorm(Tensor x, int groups, Tensor gamma, Tensor beta, float eps) {
        int[] s = x.shape();
        if (s.length < 2 || s[1] % groups != 0) {
            throw new IllegalArgumentException("group norm with " + groups + " groups of input " + Shape.str(s)
                    + ": channels must be divisible by the group count");
        }
        int n = s[0], c = s[1], sp = spatial(s);
        float[] y = new float[x.numel()], mean = new float[n * groups], rstd = new float[n * groups];
        NormKernels.groupNorm(dense(x), n, c, sp, groups, denseOrNull(gamma), denseOrNull(beta), eps, y, mean, rstd);
        return new Tensor[]{wrap(y, s), wrap(mean, n, groups), wrap(rstd, n, groups)};
    }

    @Override
    public Tensor[] groupNormBackward(Tensor gy, Tensor x, Tensor mean, Tensor rstd, Tensor gamma, boolean withBeta,
                                      int groups) {
        int[] s = x.shape();
        int n = s[0], c = s[1], sp = spatial(s);
        float[] gx = new float[x.numel()];
        float[] gg = gamma == null ? null : new float[c];
        float[] gb = withBeta ? new float[c] : null;
        NormKernels.groupNormBackward(dense(gy), dense(x), dense(mean), dense(rstd), denseOrNull(gamma), n, c, sp,
                groups, gx, gg, gb);
        return new Tensor[]{wrap(gx, s), gg == null ? null : wrap(gg, c), gb == null ? null : wrap(gb, c)};
    }

    @Override
    public Tensor[] layerNorm(Tensor x, Tensor gamma, Tensor beta, float eps) {
        int[] s = x.shape();
        int cols = s[s.length - 1], rows = x.numel() / Math.max(1, cols);
        float[] y = new float[x.numel()], mean = new float[rows], rstd = new float[rows];
        NormKernels.layerNorm(dense(x), rows, cols, denseOrNull(gamma), denseOrNull(beta), eps, y, mean, rstd);
        return new Tensor[]{wrap(y, s), wrap(mean, rows), wrap(rstd, rows)};
    }

    @Override
    public Tensor[] layerNormBackward(Tensor gy, Tensor x, Tensor mean, Tensor rstd, Tensor gamma, boolean withBeta) {
        int[] s = x.shape();
        int cols = s[s.length - 1], rows = x.numel() / Math.max(1, cols);
        float[] gx = new float[x.numel()];
        float[] gg = gamma == null ? null : new float[cols];
        float[] gb = withBeta ? new float[cols] : null;
        NormKernels.layerNormBackward(dense(gy), dense(x), dense(mean), dense(rstd), denseOrNull(gamma), rows, cols,
                gx, gg, gb);
        return new Tensor[]{wrap(gx, s), gg == null ? null : wrap(gg, cols), gb == null ? null : wrap(gb, cols)};
    }

    @Override
    public Tensor softmax(Tensor x) {
        int[] s = x.shape();
        int cols = s.length == 0 ? 1 : s[s.length - 1], rows = x.numel() / Math.max(1, cols);
        float[] y = new float[x.numel()];
        NormKernels.softmax(dense(x), rows, cols, y);
        return wrap(y, s);
    }

    @Override
    public Tensor softmaxBackward(Tensor gy, Tensor y) {
        int[] s = y.shape();
        int cols = s.length == 0 ? 1 : s[s.length - 1], rows = y.numel() / Math.max(1, cols);
        float[] gx = new float[y.numel()];
        NormKernels.softmaxBackward(dense(gy), dense(y), rows, cols, gx);
        return wrap(gx, s);
    }

    @Override
    public Tensor[] attention(Tensor q, Tensor k, Tensor v, float scale, boolean causal) {
        int[] qs = q.shape(), ks = k.shape(), vs = v.shape();
        if (qs.length != 3 || ks.length != 3 || vs.length != 3 || qs[0] != ks[0] || ks[0] != vs[0]
                || qs[2] != ks[2] || ks[1] != vs[1]) {
            throw new IllegalArgumentException("attention of q " + Shape.str(qs) + ", k " + Shape.str(ks) + ", v "
                    + Shape.str(vs) + " (expected [B, Nq, D], [B, Nk, D], [B, Nk, Dv])");
        }
        int b = qs[0], nq = qs[1], nk = ks[1], d = qs[2], dv = vs[2];
        float[] out = new float[b * nq * dv], lse = new float[b * nq];
        AttentionKernel.forward(dense(q), dense(k), dense(v), b, nq, nk, d, dv, scale, causal, out, lse);
        return new Tensor[]{wrap(out, b, nq, dv), wrap(lse, b, nq)};
    }

    @Override
    public Tensor[] attentionBackward(Tensor gOut, Tensor q, Tensor k, Tensor v, Tensor out, Tensor lse, float scale,
                                      boolean causal) {
        int[] qs = q.shape(), ks = k.shape(), vs = v.shape();
        int b = qs[0], nq = qs[1], nk = ks[1], d = qs[2], dv = vs[2];
        float[] gq = new float[q.numel()], gk = new float[k.numel()], gv = new float[v.numel()];
        AttentionKernel.backward(dense(q), dense(k), dense(v), dense(out), dense(gOut), dense(lse), b, nq, nk, d, dv,
                scale, causal, gq, gk, gv);
        return new Tensor[]{wrap(gq, qs), wrap(gk, ks), wrap(gv, vs)};
    }

    @Override
    public Tensor upsampleNearest2x(Tensor x) {
        int[] s = x.shape();
        int planes = s[0] * s[1], h = s[2], w = s[3];
        float[] a = dense(x);
        float[] o = new float[planes * 4 * h * w];
        Parallel.forRange(planes, 1, (lo, hi) -> {
            for (int p = lo; p < hi; p++) {
                for (int y = 0; y < 2 * h; y++) {
                    int src = (p * h + y / 2) * w, dst = (p * 2 * h + y) * 2 * w;
                    for (int xx = 0; xx < 2 * w; xx++) {
                        o[dst + xx] = a[src + xx / 2];
                    }
                }
            }
        });
        return wrap(o, s[0], s[1], 2 * h, 2 * w);
    }

    @Override
    public Tensor upsampleNearest2xBackward(Tensor gy) {
        int[] s = gy.shape();
        int planes = s[0] * s[1], h = s[2] / 2, w = s[3] / 2;
        float[] g = dense(gy);
        float[] o = new float[planes * h * w];
        Parallel.forRange(planes, 1, (lo, hi) -> {
            for (int p = lo; p < hi; p++) {
                for (int y = 0; y < 2 * h; y++) {
                    int src = (p * 2 * h + y) * 2 * w, dst = (p * h + y / 2) * w;
                    for (int xx = 0; xx < 2 * w; xx++) {
                        o[dst + xx / 2] += g[src + xx];
                    }
                }
            }
        });
        return wrap(o, s[0], s[1], h, w);
    }

    @Override
    public Tensor geglu(Tensor x) {
        int[] s = x.shape();
        int two = s[s.length - 1], h = two / 2, rows = x.numel() / two;
        if (two % 2 != 0) {
            throw new IllegalArgumentException("GEGLU needs an even last dimension, got " + Shape.str(s));
        }
        float[] a = dense(x);
        float[] o = new float[rows * h];
        Parallel.forRange(rows, Math.max(1, GRAIN / two), (lo, hi) -> ActivationKernels.geglu(a, o, h, lo, hi));
        int[] os = s.clone();
        os[os.length - 1] = h;
        return wrap(o, os);
    }

    @Override
    public Tensor gegluBackward(Tensor gy, Tensor x) {
        int[] s = x.shape();
        int two = s[s.length - 1], h = two / 2, rows = x.numel() / two;
        float[] a = dense(x), g = dense(gy);
        float[] o = new float[a.length];
        Parallel.forRange(rows, Math.max(1, GRAIN / two),
                (lo, hi) -> ActivationKernels.gegluBackward(g, a, o, h, lo, hi));
        return wrap(o, s);
    }

    // ------------------------------------------------------------------ in place

    @Override
    public void addInPlace(Tensor dst, Tensor src, float alpha) {
        if (!dst.isContiguous()) {
            throw new IllegalArgumentException("addInPlace into a non-contiguous tensor");
        }
        if (!Arrays.equals(dst.shape(), src.shape())) {
            throw new IllegalArgumentException("addInPlace of shape " + Shape.str(src.shape()) + " into "
                    + Shape.str(dst.shape()));
        }
        if (dst.storage() instanceof HalfStorage half) {
            addRounded(half, dst.offset(), dense(src), alpha, dst.numel());
            return;
        }
        float[] d = writable(dst), s = dense(src);
        int off = dst.offset(), n = dst.numel();
        Parallel.forRange(n, GRAIN, (lo, hi) -> {
            for (int i = lo; i < hi; i++) {
                d[off + i] += alpha * s[i];
            }
        });
    }

    /**
     * {@code dst += alpha * src} into 16-bit elements: each sum is computed in float32 and rounded once to nearest
     * (ties to even), as PyTorch's in-place add into a bfloat16/float16 tensor does.
     */
    private static void addRounded(HalfStorage dst, int off, float[] src, float alpha, int n) {
        short[] bits = dst.bits();
        WeightDtype dtype = dst.dtype();
        Parallel.forRange(n, GRAIN, (lo, hi) -> {
            for (int i = lo; i < hi; i++) {
                bits[off + i] = dtype.encode(dtype.decode(bits[off + i]) + alpha * src[i]);
            }
        });
    }

    @Override
    public void adamW(Tensor param, Tensor g, Tensor m, Tensor v, float lr, float beta1, float beta2, float eps,
                      float weightDecay, int step) {
        float[] p = writable(param), gr = dense(g), mm = writable(m), vv = writable(v);
        int po = param.offset(), mo = m.offset(), vo = v.offset(), n = param.numel();
        double bc1 = 1 - Math.pow(beta1, step), bc2 = 1 - Math.pow(beta2, step);
        float stepSize = (float) (lr / bc1);
        float sqrtBc2 = (float) Math.sqrt(bc2);
        float decay = 1f - lr * weightDecay;
        Parallel.forRange(n, GRAIN, (lo, hi) -> {
            for (int i = lo; i < hi; i++) {
                float gi = gr[i];
                float mi = beta1 * mm[mo + i] + (1 - beta1) * gi;
                float vi = beta2 * vv[vo + i] + (1 - beta2) * gi * gi;
                mm[mo + i] = mi;
                vv[vo + i] = vi;
                float denom = (float) Math.sqrt(vi) / sqrtBc2 + eps;
                p[po + i] = p[po + i] * decay - stepSize * mi / denom;
            }
        });
    }
}
