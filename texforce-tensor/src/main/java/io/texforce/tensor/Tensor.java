package io.texforce.tensor;

import io.texforce.tensor.cpu.CpuBackend;

import java.util.ArrayList;
import java.util.Arrays;
import java.util.List;

/**
 * A float32 n-dimensional array: a strided view over a {@link Storage}, with reverse-mode autograd. Frozen weights,
 * and on a GPU asked for it activations ({@link Backend#setActivationDtype}), may be stored in 16 bits
 * ({@link #dtype()}); their elements still read as float32 values, and a 16-bit leaf is never trained.
 *
 * <p>View operations ({@link #reshape}, {@link #permute}, {@link #narrow}, {@link #expand}, ...) share storage and
 * copy nothing; arithmetic returns new contiguous tensors. When grad mode is on and an input
 * {@link #requiresGrad()}, each operation records a {@link Node} so that {@link #backward()} can propagate
 * gradients to the leaves.
 */
public final class Tensor {
    private final Storage storage;
    private final int[] shape;
    private final int[] strides;
    private final int offset;

    private boolean requiresGrad;
    private Tensor grad;
    private Node gradFn;

    public Tensor(Storage storage, int[] shape, int[] strides, int offset) {
        if (shape.length != strides.length) {
            throw new IllegalArgumentException("shape " + Shape.str(shape) + " and strides " + Shape.str(strides)
                    + " differ in rank");
        }
        this.storage = storage;
        this.shape = shape.clone();
        this.strides = strides.clone();
        this.offset = offset;
    }

    // ---------------------------------------------------------------- creation

    /** A contiguous CPU tensor wrapping {@code data} (not copied). */
    public static Tensor of(float[] data, int... shape) {
        if (Shape.numel(shape) != data.length) {
            throw new IllegalArgumentException("shape " + Shape.str(shape) + " needs " + Shape.numel(shape)
                    + " elements, got " + data.length);
        }
        return new Tensor(CpuBackend.INSTANCE.fromHost(data), shape, Shape.contiguousStrides(shape), 0);
    }

    /** A contiguous tensor on {@code backend} holding a copy of {@code data}. */
    public static Tensor of(Backend backend, float[] data, int... shape) {
        if (Shape.numel(shape) != data.length) {
            throw new IllegalArgumentException("shape " + Shape.str(shape) + " needs " + Shape.numel(shape)
                    + " elements, got " + data.length);
        }
        return new Tensor(backend.fromHost(backend == CpuBackend.INSTANCE ? data.clone() : data), shape,
                Shape.contiguousStrides(shape), 0);
    }

    /** A 0-dimensional CPU tensor. */
    public static Tensor scalar(float value) {
        return of(new float[]{value});
    }

    public static Tensor zeros(int... shape) {
        return CpuBackend.INSTANCE.full(shape, 0f);
    }

    public static Tensor ones(int... shape) {
        return CpuBackend.INSTANCE.full(shape, 1f);
    }

    public static Tensor full(float value, int... shape) {
        return CpuBackend.INSTANCE.full(shape, value);
    }

    /** [0, 1, ..., n-1]. */
    public static Tensor arange(int n) {
        float[] d = new float[n];
        for (int i = 0; i < n; i++) {
            d[i] = i;
        }
        return of(d, n);
    }

    /** A zero tensor of this tensor's shape on its backend. */
    public Tensor zerosLike() {
        return backend().full(shape, 0f);
    }

    public Tensor fullLike(float value) {
        return backend().full(shape, value);
    }

    // ---------------------------------------------------------------- metadata

    public int[] shape() {
        return shape.clone();
    }

    public int dim() {
        return shape.length;
    }

    /** Size of dimension {@code d} (negative counts from the end). */
    public int size(int d) {
        return shape[Shape.dim(d, shape.length)];
    }

    public int numel() {
        return Shape.numel(shape);
    }

    public int[] strides() {
        return strides.clone();
    }

    public int offset() {
        return offset;
    }

    public Storage storage() {
        return storage;
    }

    public Backend backend() {
        return storage.backend();
    }

    /** How the elements are stored: {@link WeightDtype#FP32} except for 16-bit frozen weights. */
    public WeightDtype dtype() {
        return storage.dtype();
    }

    /** True when the elements are laid out row-major without gaps (offset may be non-zero). */
    public boolean isContiguous() {
        int expected = 1;
        for (int i = shape.length - 1; i >= 0; i--) {
            if (shape[i] != 1 && strides[i] != expected) {
                return false;
            }
            expected *= shape[i];
        }
        return true;
    }

    // ---------------------------------------------------------------- data access

    /** The elements in row-major order, as a new host array. */
    public float[] toFloatArray() {
        return backend().toHost(this);
    }

    /** The single value of a one-element tensor. */
    public float item() {
        if (numel() != 1) {
            throw new IllegalStateException("item() on a tensor of shape " + Shape.str(shape));
        }
        return toFloatArray()[0];
    }

    /** One element by index (slow; for tests and diagnostics). */
    public float get(int... index) {
        if (index.length != shape.length) {
            throw new IllegalArgumentException("index of rank " + index.length + " for shape " + Shape.str(shape));
        }
        int pos = offset;
        for (int i = 0; i < index.length; i++) {
            if (index[i] < 0 || index[i] >= shape[i]) {
                throw new IndexOutOfBoundsException("index " + Arrays.toString(index) + " for shape " + Shape.str(shape));
            }
            pos += index[i] * strides[i];
        }
        return elementAt(pos);
    }

    private float elementAt(int pos) {
        return new Tensor(storage, new int[0], new int[0], pos).toFloatArray()[0];
    }

    /**
     * The backend shared by every non-null operand of {@code op}. Kernels of one backend cannot read another's
     * storage, so mixing is an error that names each operand's shape and backend (usually a constant created on
     * the CPU with {@link #of(float[], int...)} where {@code of(backend, ...)} was meant).
     */
    static Backend sameBackend(String op, Tensor... operands) {
        Backend be = null;
        for (Tensor t : operands) {
            if (t == null) {
                continue;
            }
            if (be == null) {
                be = t.backend();
            } else if (t.backend() != be) {
                StringBuilder sb = new StringBuilder(op).append(" mixes backends:");
                for (int i = 0; i < operands.length; i++) {
                    if (operands[i] != null) {
                        sb.append(i == 0 ? " " : ", ").append("operand ").append(i).append(' ')
                                .append(Shape.str(operands[i].shape)).append(" on ").append(operands[i].backend().name());
                    }
                }
                throw new IllegalArgumentException(sb.append("; move tensors with tensor.to(backend)").toString());
            }
        }
        return be;
    }

    /**
     * A frozen copy of this tensor with its elements rounded to {@code dtype} (nearest, ties to even) in 16-bit
     * storage on the same backend; for FP32, a contiguous float32 copy. The result never requires grad.
     */
    public Tensor to(WeightDtype dtype) {
        if (GradMode.isEnabled() && requiresGrad()) {
            throw new IllegalStateException("to(" + dtype.cliName() + ") of a tensor that requires grad: only frozen"
                    + " tensors are stored in 16 bits (detach it first)");
        }
        float[] values = toFloatArray();
        return dtype.isHalf() ? rounded(backend(), values, dtype, shape) : Tensor.of(backend(), values, shape);
    }

    private static Tensor rounded(Backend backend, float[] values, WeightDtype dtype, int[] shape) {
        short[] bits = new short[values.length];
        for (int i = 0; i < values.length; i++) {
            bits[i] = dtype.encode(values[i]);
        }
        return new Tensor(backend.fromHostHalf(bits, dtype), shape, Shape.contiguousStrides(shape), 0);
    }

    /** This tensor's data on another backend (a copy unless it already lives there). */
    public Tensor to(Backend target) {
        if (target == backend()) {
            return this;
        }
        if (dtype().isHalf()) {
            // A frozen 16-bit weight keeps its dtype; the bits survive the float32 round trip exactly.
            return rounded(target, toFloatArray(), dtype(), shape);
        }
        Tensor out = Tensor.of(target, toFloatArray(), shape);
        Backend source = backend();
        return Autograd.record(out, "to", g -> new Tensor[]{g.to(source)}, this);
    }

    // ---------------------------------------------------------------- autograd

    /** Whether gradients flow to this tensor: a leaf marked trainable, or the result of a recorded op. */
    public boolean requiresGrad() {
        return requiresGrad || gradFn != null;
    }

    /** Marks a leaf as trainable (returns this). */
    public Tensor requiresGrad(boolean value) {
        if (gradFn != null) {
            throw new IllegalStateException("requiresGrad can only be set on leaf tensors");
        }
        if (value && dtype().isHalf()) {
            throw new IllegalStateException("a " + dtype().cliName() + " tensor of shape " + Shape.str(shape)
                    + " cannot be trained: 16-bit storage is for frozen weights (LoRA parameters stay fp32)");
        }
        this.requiresGrad = value;
        return this;
    }

    /**
     * Marks a leaf as requiring grad whatever its format: the fresh leaves of a checkpoint's replay, which may be
     * 16-bit activations and are never trained (their gradients are handed back to the outer pass).
     */
    Tensor tracked() {
        this.requiresGrad = true;
        return this;
    }

    /** The accumulated gradient of a leaf, or null. */
    public Tensor grad() {
        return grad;
    }

    public void setGrad(Tensor g) {
        this.grad = g;
    }

    /** Drops the accumulated gradient. */
    public void zeroGrad() {
        this.grad = null;
    }

    public Node gradFn() {
        return gradFn;
    }

    void setGradFn(Node node) {
        this.gradFn = node;
    }

    void accumulateGrad(Tensor g) {
        sameBackend("gradient accumulation", this, g);
        try (var scope = GradMode.noGrad()) {
            if (grad == null) {
                Tensor copy = backend().full(shape, 0f);
                backend().copy(g, copy);
                grad = copy;
            } else {
                backend().addInPlace(grad, g, 1f);
            }
        }
    }

    /** A tensor sharing this one's data but cut from the graph. */
    public Tensor detach() {
        return new Tensor(storage, shape, strides, offset);
    }

    /** Back-propagates from a one-element tensor (gradient 1). */
    public void backward() {
        if (numel() != 1) {
            throw new IllegalStateException("backward() without a gradient needs a one-element tensor, got "
                    + Shape.str(shape));
        }
        backward(fullLike(1f));
    }

    /** Back-propagates {@code gradient} (same shape as this tensor); the graph is freed afterwards. */
    public void backward(Tensor gradient) {
        Autograd.backward(this, gradient, false);
    }

    public void backward(Tensor gradient, boolean retainGraph) {
        Autograd.backward(this, gradient, retainGraph);
    }

    // ---------------------------------------------------------------- views

    /** A view with a new shape (one entry may be -1); copies only when this tensor is not contiguous. */
    public Tensor reshape(int... newShape) {
        int[] target = inferShape(newShape);
        Tensor src = isContiguous() ? this : contiguous();
        Tensor out = new Tensor(src.storage, target, Shape.contiguousStrides(target), src.offset);
        int[] in = shape;
        return Autograd.record(out, "reshape", g -> new Tensor[]{g.reshape(in)}, this);
    }

    private int[] inferShape(int[] newShape) {
        int[] target = newShape.clone();
        int infer = -1;
        long known = 1;
        for (int i = 0; i < target.length; i++) {
            if (target[i] == -1) {
                if (infer >= 0) {
                    throw new IllegalArgumentException("more than one -1 in shape " + Shape.str(newShape));
                }
                infer = i;
            } else {
                known *= target[i];
            }
        }
        int n = numel();
        if (infer >= 0) {
            if (known == 0 || n % known != 0) {
                throw new IllegalArgumentException("cannot reshape " + Shape.str(shape) + " to " + Shape.str(newShape));
            }
            target[infer] = (int) (n / known);
        }
        if (Shape.numel(target) != n) {
            throw new IllegalArgumentException("cannot reshape " + Shape.str(shape) + " (" + n + " elements) to "
                    + Shape.str(newShape));
        }
        return target;
    }

    /** Merges dimensions {@code from..to} (inclusive) into one. */
    public Tensor flatten(int from, int to) {
        int f = Shape.dim(from, shape.length), t = Shape.dim(to, shape.length);
        int[] s = new int[shape.length - (t - f)];
        int k = 0;
        for (int i = 0; i < f; i++) {
            s[k++] = shape[i];
        }
        int merged = 1;
        for (int i = f; i <= t; i++) {
            merged *= shape[i];
        }
        s[k++] = merged;
        for (int i = t + 1; i < shape.length; i++) {
            s[k++] = shape[i];
        }
        return reshape(s);
    }

    /** Reorders dimensions: result dimension i is this tensor's dimension {@code dims[i]}. */
    public Tensor permute(int... dims) {
        if (dims.length != shape.length) {
            throw new IllegalArgumentException("permute " + Arrays.toString(dims) + " of a rank-" + shape.length + " tensor");
        }
        int[] s = new int[dims.length], st = new int[dims.length], inverse = new int[dims.length];
        boolean[] used = new boolean[dims.length];
        for (int i = 0; i < dims.length; i++) {
            int d = Shape.dim(dims[i], shape.length);
            if (used[d]) {
                throw new IllegalArgumentException("repeated dimension in permute " + Arrays.toString(dims));
            }
            used[d] = true;
            s[i] = shape[d];
            st[i] = strides[d];
            inverse[d] = i;
        }
        Tensor out = new Tensor(storage, s, st, offset);
        return Autograd.record(out, "permute", g -> new Tensor[]{g.permute(inverse)}, this);
    }

    /** Swaps two dimensions. */
    public Tensor transpose(int d0, int d1) {
        int[] p = new int[shape.length];
        for (int i = 0; i < p.length; i++) {
            p[i] = i;
        }
        int a = Shape.dim(d0, shape.length), b = Shape.dim(d1, shape.length);
        p[a] = b;
        p[b] = a;
        return permute(p);
    }

    /** The slice [start, start+length) of dimension {@code dim}, as a view. */
    public Tensor narrow(int dim, int start, int length) {
        int d = Shape.dim(dim, shape.length);
        if (start < 0 || length < 0 || start + length > shape[d]) {
            throw new IllegalArgumentException("narrow(" + dim + ", " + start + ", " + length + ") out of range for shape "
                    + Shape.str(shape));
        }
        int[] s = shape.clone();
        s[d] = length;
        Tensor out = new Tensor(storage, s, strides, offset + start * strides[d]);
        int[] in = shape;
        return Autograd.record(out, "narrow", g -> {
            Tensor full = g.backend().full(in, 0f);
            g.backend().copy(g, full.narrow(d, start, length));
            return new Tensor[]{full};
        }, this);
    }

    /** Index {@code index} of dimension {@code dim}, removing that dimension. */
    public Tensor select(int dim, int index) {
        int d = Shape.dim(dim, shape.length);
        return narrow(d, index, 1).squeeze(d);
    }

    /** {@code n} nearly equal views along {@code dim} (the last may be smaller), as torch.chunk. */
    public List<Tensor> chunk(int n, int dim) {
        int d = Shape.dim(dim, shape.length);
        int size = (shape[d] + n - 1) / n;
        return split(size, d);
    }

    /** Views of {@code size} along {@code dim} (the last may be smaller). */
    public List<Tensor> split(int size, int dim) {
        int d = Shape.dim(dim, shape.length);
        List<Tensor> parts = new ArrayList<>();
        for (int s = 0; s < shape[d]; s += size) {
            parts.add(narrow(d, s, Math.min(size, shape[d] - s)));
        }
        return parts;
    }

    public Tensor unsqueeze(int dim) {
        int d = dim < 0 ? dim + shape.length + 1 : dim;
        if (d < 0 || d > shape.length) {
            throw new IllegalArgumentException("unsqueeze(" + dim + ") on rank " + shape.length);
        }
        int[] s = new int[shape.length + 1];
        for (int i = 0, k = 0; i < s.length; i++) {
            s[i] = i == d ? 1 : shape[k++];
        }
        return reshape(s);
    }

    /** Removes dimension {@code dim}, which must have size 1. */
    public Tensor squeeze(int dim) {
        int d = Shape.dim(dim, shape.length);
        if (shape[d] != 1) {
            throw new IllegalArgumentException("squeeze(" + dim + ") of a dimension of size " + shape[d]);
        }
        int[] s = new int[shape.length - 1];
        for (int i = 0, k = 0; i < shape.length; i++) {
            if (i != d) {
                s[k++] = shape[i];
            }
        }
        Tensor out = new Tensor(storage, s, removeAt(strides, d), offset);
        int[] in = shape;
        return Autograd.record(out, "squeeze", g -> new Tensor[]{g.reshape(in)}, this);
    }

    private static int[] removeAt(int[] a, int d) {
        int[] r = new int[a.length - 1];
        for (int i = 0, k = 0; i < a.length; i++) {
            if (i != d) {
                r[k++] = a[i];
            }
        }
        return r;
    }

    /** Broadcasts to {@code target} (NumPy rules) as a view with zero strides; no copy. */
    public Tensor expand(int... target) {
        if (target.length < shape.length) {
            throw new IllegalArgumentException("cannot expand " + Shape.str(shape) + " to " + Shape.str(target));
        }
        int lead = target.length - shape.length;
        int[] st = new int[target.length];
        for (int i = 0; i < target.length; i++) {
            if (i < lead) {
                st[i] = 0;
                continue;
            }
            int sd = shape[i - lead];
            if (sd == target[i]) {
                st[i] = strides[i - lead];
            } else if (sd == 1) {
                st[i] = 0;
            } else {
                throw new IllegalArgumentException("cannot expand " + Shape.str(shape) + " to " + Shape.str(target));
            }
        }
        if (Arrays.equals(target, shape)) {
            return this;
        }
        Tensor out = new Tensor(storage, target, st, offset);
        int[] in = shape;
        return Autograd.record(out, "expand", g -> new Tensor[]{g.sumTo(in)}, this);
    }

    /** A contiguous tensor with the same values (this one if already contiguous). */
    public Tensor contiguous() {
        if (isContiguous()) {
            return this;
        }
        Tensor out = backend().denseCopy(this);
        return Autograd.record(out, "contiguous", g -> new Tensor[]{g}, this);
    }

    /** A new contiguous copy that owns its storage (never aliases this tensor). */
    public Tensor copy() {
        Tensor out = backend().denseCopy(this);
        return Autograd.record(out, "copy", g -> new Tensor[]{g}, this);
    }

    /** Sums broadcast dimensions away so that the result has shape {@code target} (the adjoint of expand). */
    public Tensor sumTo(int[] target) {
        if (Arrays.equals(shape, target)) {
            return this;
        }
        int lead = shape.length - target.length;
        if (lead < 0) {
            throw new IllegalArgumentException("cannot sum " + Shape.str(shape) + " to " + Shape.str(target));
        }
        List<Integer> dims = new ArrayList<>();
        for (int i = 0; i < shape.length; i++) {
            if (i < lead || (target[i - lead] == 1 && shape[i] != 1)) {
                dims.add(i);
            } else if (target[i - lead] != shape[i]) {
                throw new IllegalArgumentException("cannot sum " + Shape.str(shape) + " to " + Shape.str(target));
            }
        }
        Tensor s = sum(dims.stream().mapToInt(Integer::intValue).toArray(), true);
        return s.reshape(target);
    }

    // ---------------------------------------------------------------- in place (no autograd)

    /** In place {@code this += alpha * other}; for optimizer updates and LoRA merging, never recorded. */
    public Tensor addInPlace(Tensor other, float alpha) {
        if (!isContiguous()) {
            throw new IllegalStateException("addInPlace on a non-contiguous tensor of shape " + Shape.str(shape));
        }
        if (GradMode.isEnabled() && requiresGrad() && gradFn != null) {
            throw new IllegalStateException("in-place update of a tensor that is part of the autograd graph");
        }
        sameBackend("addInPlace", this, other).addInPlace(this, other, alpha);
        return this;
    }

    /** In place: overwrites this tensor's elements with {@code src} (broadcast to this shape). */
    public Tensor copyFrom(Tensor src) {
        sameBackend("copyFrom", this, src).copy(src.expand(shape), this);
        return this;
    }

    // ---------------------------------------------------------------- elementwise

    private Tensor unary(UnaryOp op, float param) {
        Backend be = backend();
        Tensor out = be.unary(op, this, param);
        Node.Backward backward = switch (op) {
            // Derivatives that do not depend on x: the node must not keep x alive.
            case NEG -> g -> new Tensor[]{g.neg()};
            case ADD_SCALAR -> g -> new Tensor[]{g};
            case MUL_SCALAR -> g -> new Tensor[]{g.mul(param)};
            default -> {
                Tensor x = this;
                yield g -> new Tensor[]{be.unaryBackward(op, g, x, param)};
            }
        };
        return Autograd.record(out, op.name().toLowerCase(), backward, this);
    }

    public Tensor neg() {
        return unary(UnaryOp.NEG, 0f);
    }

    public Tensor exp() {
        return unary(UnaryOp.EXP, 0f);
    }

    public Tensor log() {
        return unary(UnaryOp.LOG, 0f);
    }

    public Tensor sqrt() {
        return unary(UnaryOp.SQRT, 0f);
    }

    public Tensor rsqrt() {
        return unary(UnaryOp.RSQRT, 0f);
    }

    public Tensor square() {
        return unary(UnaryOp.SQUARE, 0f);
    }

    public Tensor abs() {
        return unary(UnaryOp.ABS, 0f);
    }

    public Tensor reciprocal() {
        return unary(UnaryOp.RECIPROCAL, 0f);
    }

    public Tensor tanh() {
        return unary(UnaryOp.TANH, 0f);
    }

    public Tensor sigmoid() {
        return unary(UnaryOp.SIGMOID, 0f);
    }

    public Tensor relu() {
        return unary(UnaryOp.RELU, 0f);
    }

    /** Exact (erf) GELU. */
    public Tensor gelu() {
        return unary(UnaryOp.GELU, 0f);
    }

    public Tensor geluTanh() {
        return unary(UnaryOp.GELU_TANH, 0f);
    }

    public Tensor quickGelu() {
        return unary(UnaryOp.QUICK_GELU, 0f);
    }

    public Tensor silu() {
        return unary(UnaryOp.SILU, 0f);
    }

    public Tensor pow(float exponent) {
        return unary(UnaryOp.POW, exponent);
    }

    public Tensor add(float value) {
        return unary(UnaryOp.ADD_SCALAR, value);
    }

    public Tensor sub(float value) {
        return unary(UnaryOp.ADD_SCALAR, -value);
    }

    public Tensor mul(float value) {
        return unary(UnaryOp.MUL_SCALAR, value);
    }

    public Tensor div(float value) {
        return unary(UnaryOp.MUL_SCALAR, 1f / value);
    }

    /** Elementwise clamp to [min, max]; the gradient passes where the input is inside the range. */
    public Tensor clamp(float min, float max) {
        Backend be = backend();
        Tensor out = be.clamp(this, min, max);
        Tensor x = this;
        return Autograd.record(out, "clamp", g -> {
            // As PyTorch: the gradient passes where min <= x <= max.
            Tensor below = be.binary(BinaryOp.LT, x, be.full(new int[0], min));
            Tensor above = be.binary(BinaryOp.GT, x, be.full(new int[0], max));
            Tensor inside = be.binary(BinaryOp.ADD, below, above).mul(-1f).add(1f);
            return new Tensor[]{be.binary(BinaryOp.MUL, g, inside)};
        }, this);
    }

    public Tensor add(Tensor other) {
        return binary(BinaryOp.ADD, other);
    }

    public Tensor sub(Tensor other) {
        return binary(BinaryOp.SUB, other);
    }

    public Tensor mul(Tensor other) {
        return binary(BinaryOp.MUL, other);
    }

    public Tensor div(Tensor other) {
        return binary(BinaryOp.DIV, other);
    }

    /** Elementwise maximum; at ties the gradient is split evenly, as in PyTorch. */
    public Tensor maximum(Tensor other) {
        return binary(BinaryOp.MAXIMUM, other);
    }

    public Tensor minimum(Tensor other) {
        return binary(BinaryOp.MINIMUM, other);
    }

    /** Elementwise power with a tensor exponent. */
    public Tensor pow(Tensor exponent) {
        return binary(BinaryOp.POW, exponent);
    }

    /** 1 where this > other, else 0 (not differentiable). */
    public Tensor gt(Tensor other) {
        return sameBackend("gt", this, other).binary(BinaryOp.GT, this, other);
    }

    public Tensor lt(Tensor other) {
        return sameBackend("lt", this, other).binary(BinaryOp.LT, this, other);
    }

    public Tensor eq(Tensor other) {
        return sameBackend("eq", this, other).binary(BinaryOp.EQ, this, other);
    }

    private Tensor binary(BinaryOp op, Tensor other) {
        Backend be = sameBackend(op.name().toLowerCase(), this, other);
        Tensor out = be.binary(op, this, other);
        if (!Autograd.needsGrad(this, other)) {
            return out;
        }
        return Autograd.record(out, op.name().toLowerCase(), binaryBackward(op, this, other, out), this, other);
    }

    /**
     * The backward function of {@code out = a op b}. It captures only the operands its formula reads (an add keeps
     * neither alive; a product keeps the operand that scales the other's gradient).
     */
    private static Node.Backward binaryBackward(BinaryOp op, Tensor a, Tensor b, Tensor out) {
        boolean ra = a.requiresGrad(), rb = b.requiresGrad();
        int[] sa = a.shape, sb = b.shape;
        Backend be = a.backend();
        return switch (op) {
            case ADD -> g -> new Tensor[]{ra ? g.sumTo(sa) : null, rb ? g.sumTo(sb) : null};
            case SUB -> g -> new Tensor[]{ra ? g.sumTo(sa) : null, rb ? g.neg().sumTo(sb) : null};
            case MUL -> {
                Tensor ka = rb ? a : null, kb = ra ? b : null;
                yield g -> new Tensor[]{ra ? g.mul(kb).sumTo(sa) : null, rb ? g.mul(ka).sumTo(sb) : null};
            }
            case DIV -> {
                Tensor ka = rb ? a : null;
                yield g -> new Tensor[]{ra ? g.div(b).sumTo(sa) : null,
                        rb ? g.mul(ka).div(b.square()).neg().sumTo(sb) : null};
            }
            case MAXIMUM, MINIMUM -> g -> {
                Tensor win = be.binary(op == BinaryOp.MAXIMUM ? BinaryOp.GT : BinaryOp.LT, a, b);
                Tensor tie = be.binary(BinaryOp.EQ, a, b).mul(0.5f);
                Tensor wa = win.add(tie);
                return new Tensor[]{ra ? g.mul(wa).sumTo(sa) : null, rb ? g.mul(wa.neg().add(1f)).sumTo(sb) : null};
            };
            case POW -> g -> new Tensor[]{ra ? g.mul(b).mul(a.pow(b.sub(1f))).sumTo(sa) : null,
                    rb ? g.mul(out).mul(a.log()).sumTo(sb) : null};
            default -> throw new IllegalStateException("no gradient for " + op);
        };
    }

    /** {@code cond != 0 ? a : b} with broadcasting; gradients flow to a and b (cond is a constant mask). */
    public static Tensor where(Tensor cond, Tensor a, Tensor b) {
        Backend be = sameBackend("where", cond, a, b);
        Tensor out = be.where(cond, a, b);
        boolean ra = a.requiresGrad(), rb = b.requiresGrad();
        int[] sa = a.shape, sb = b.shape;
        return Autograd.record(out, "where", g -> {
            Tensor zero = be.full(new int[0], 0f);
            return new Tensor[]{
                    ra ? be.where(cond, g, zero).sumTo(sa) : null,
                    rb ? be.where(cond, zero, g).sumTo(sb) : null};
        }, a, b);
    }

    // ---------------------------------------------------------------- reductions

    /** Sum of all elements (0-dim). */
    public Tensor sum() {
        return reduce(ReduceOp.SUM, allDims(), false);
    }

    public Tensor sum(int[] dims, boolean keepDim) {
        return reduce(ReduceOp.SUM, dims, keepDim);
    }

    public Tensor sum(int dim, boolean keepDim) {
        return reduce(ReduceOp.SUM, new int[]{dim}, keepDim);
    }

    public Tensor mean() {
        return reduce(ReduceOp.MEAN, allDims(), false);
    }

    public Tensor mean(int[] dims, boolean keepDim) {
        return reduce(ReduceOp.MEAN, dims, keepDim);
    }

    public Tensor mean(int dim, boolean keepDim) {
        return reduce(ReduceOp.MEAN, new int[]{dim}, keepDim);
    }

    /** Maximum over dims; the gradient is shared evenly among tied maxima (as torch.amax). */
    public Tensor max(int[] dims, boolean keepDim) {
        return reduce(ReduceOp.MAX, dims, keepDim);
    }

    public Tensor max(int dim, boolean keepDim) {
        return reduce(ReduceOp.MAX, new int[]{dim}, keepDim);
    }

    public Tensor max() {
        return reduce(ReduceOp.MAX, allDims(), false);
    }

    public Tensor min(int[] dims, boolean keepDim) {
        return reduce(ReduceOp.MIN, dims, keepDim);
    }

    public Tensor min() {
        return reduce(ReduceOp.MIN, allDims(), false);
    }

    private int[] allDims() {
        int[] d = new int[shape.length];
        for (int i = 0; i < d.length; i++) {
            d[i] = i;
        }
        return d;
    }

    private Tensor reduce(ReduceOp op, int[] dims, boolean keepDim) {
        int[] norm = Arrays.stream(dims).map(d -> Shape.dim(d, shape.length)).distinct().sorted().toArray();
        Backend be = backend();
        Tensor out = be.reduce(op, this, norm, keepDim);
        if (!Autograd.needsGrad(this)) {
            return out;
        }
        int[] full = shape;
        // Only max/min read the input again; a sum must not keep it alive.
        Tensor x = op == ReduceOp.MAX || op == ReduceOp.MIN ? this : null;
        int[] kept = shape.clone();
        int count = 1;
        for (int d : norm) {
            kept[d] = 1;
            count *= shape[d];
        }
        int n = count;
        return Autograd.record(out, op.name().toLowerCase(), g -> {
            Tensor gk = g.reshape(kept);
            Tensor gx = switch (op) {
                case SUM -> gk.expand(full);
                case MEAN -> gk.mul(1f / n).expand(full);
                case MAX, MIN -> {
                    Tensor mask = be.binary(BinaryOp.EQ, x, out.reshape(kept));
                    Tensor ties = be.reduce(ReduceOp.SUM, mask, norm, true);
                    yield mask.mul(gk.div(ties));
                }
            };
            return new Tensor[]{gx.contiguous()};
        }, this);
    }

    // ---------------------------------------------------------------- linear algebra

    /** Batched matrix product over the last two dims; leading dims broadcast (a 2-D operand is shared). */
    public Tensor matmul(Tensor other) {
        return matmul(this, other, false, false);
    }

    /** {@code op(a) @ op(b)} where op transposes the last two dims when the flag is set, without copies. */
    public static Tensor matmul(Tensor a, Tensor b, boolean transA, boolean transB) {
        Tensor out = sameBackend("matmul", a, b).matmul(a, b, transA, transB);
        if (!Autograd.needsGrad(a, b)) {
            return out;
        }
        boolean ra = a.requiresGrad(), rb = b.requiresGrad();
        int[] sa = a.shape, sb = b.shape;
        // Each gradient reads only the other operand: with a frozen weight, the input is not kept alive.
        Tensor ka = rb ? a : null, kb = ra ? b : null;
        return Autograd.record(out, "matmul", g -> {
            Tensor ga = null, gb = null;
            if (ra) {
                // d op(a) = g op(b)^T; undo op on a by transposing the product when transA.
                ga = transA ? matmul(kb, g, transB, true) : matmul(g, kb, false, !transB);
                ga = ga.sumTo(sa);
            }
            if (rb) {
                gb = transB ? matmul(g, ka, true, transA) : matmul(ka, g, !transA, false);
                gb = gb.sumTo(sb);
            }
            return new Tensor[]{ga, gb};
        }, a, b);
    }

    /** Concatenation along {@code dim}. */
    public static Tensor concat(List<Tensor> parts, int dim) {
        if (parts.isEmpty()) {
            throw new IllegalArgumentException("concat of no tensors");
        }
        int d = Shape.dim(dim, parts.get(0).dim());
        Tensor[] inputs = parts.toArray(new Tensor[0]);
        Tensor out = sameBackend("concat", inputs).concat(parts, d);
        if (!Autograd.needsGrad(inputs)) {
            return out;
        }
        int[] lengths = new int[inputs.length];
        boolean[] needs = new boolean[inputs.length];
        for (int i = 0; i < inputs.length; i++) {
            lengths[i] = inputs[i].shape[d];
            needs[i] = inputs[i].requiresGrad();
        }
        return Autograd.record(out, "concat", g -> {
            Tensor[] gs = new Tensor[lengths.length];
            int start = 0;
            for (int i = 0; i < lengths.length; i++) {
                gs[i] = needs[i] ? g.narrow(d, start, lengths[i]).contiguous() : null;
                start += lengths[i];
            }
            return gs;
        }, inputs);
    }

    /** Stacks equally shaped tensors along a new dimension {@code dim}. */
    public static Tensor stack(List<Tensor> parts, int dim) {
        List<Tensor> u = new ArrayList<>(parts.size());
        for (Tensor t : parts) {
            u.add(t.unsqueeze(dim));
        }
        return concat(u, dim);
    }

    /** Softmax over the last dimension. */
    public Tensor softmax() {
        Backend be = backend();
        Tensor out = be.softmax(this);
        return Autograd.record(out, "softmax", g -> new Tensor[]{be.softmaxBackward(g, out)}, this);
    }

    @Override
    public String toString() {
        StringBuilder sb = new StringBuilder("Tensor").append(Shape.str(shape));
        if (numel() <= 16) {
            sb.append(' ').append(Arrays.toString(toFloatArray()));
        }
        if (gradFn != null) {
            sb.append(" grad_fn=").append(gradFn.name());
        } else if (requiresGrad) {
            sb.append(" requires_grad");
        }
        return sb.toString();
    }
}
