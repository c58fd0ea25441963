package io.texforce.tensor.foreign;

import io.texforce.tensor.Backend;
import io.texforce.tensor.BinaryOp;
import io.texforce.tensor.ReduceOp;
import io.texforce.tensor.Storage;
import io.texforce.tensor.Tensor;
import io.texforce.tensor.UnaryOp;
import io.texforce.tensor.cpu.CpuBackend;
import io.texforce.tensor.cpu.CpuStorage;

import java.util.ArrayList;
import java.util.List;
import java.util.concurrent.atomic.AtomicLong;

/**
 * A test backend that stands in for a GPU: every kernel is the CPU backend's, but tensors live in its own
 * {@link ForeignStorage}, so results are bit-identical to the CPU while anything that assumes CPU tensors fails
 * at once. A CPU tensor reaching one of its kernels (a constant built with {@code Tensor.of(float[])} and mixed into
 * device math), or a foreign tensor reaching the CPU backend or a cast to {@code CpuStorage}, throws an error
 * naming the kernel and both backends. {@link #hostReads()} counts copies to the host, which on a GPU would be
 * synchronising transfers.
 */
public final class ForeignBackend implements Backend {
    /** The one instance, also what {@code Devices.resolve("foreign")} returns on a test class path. */
    public static final ForeignBackend INSTANCE = new ForeignBackend();

    private static final CpuBackend CPU = CpuBackend.INSTANCE;

    private final AtomicLong hostReads = new AtomicLong();
    private volatile long maxTensorBytes = Long.MAX_VALUE;
    private final AtomicLong hostWrites = new AtomicLong();

    private ForeignBackend() {
    }

    /**
     * Makes every result larger than {@code bytes} fail as a device out of memory would (Long.MAX_VALUE: no limit),
     * so that callers' handling of {@link io.texforce.tensor.DeviceOutOfMemoryException} can be tested anywhere.
     */
    public void limitTensorBytes(long bytes) {
        maxTensorBytes = bytes;
    }

    /** How many times tensors were copied to the host ({@link #toHost}) so far. */
    public long hostReads() {
        return hostReads.get();
    }

    /** How many host arrays were copied in ({@link #fromHost}) so far. */
    public long hostWrites() {
        return hostWrites.get();
    }

    // ------------------------------------------------------------------ moving between the two worlds

    /** A CPU view of a foreign tensor, for the delegate kernels; anything else is a mixing bug. */
    private Tensor cpu(Tensor t, String kernel) {
        if (t == null) {
            return null;
        }
        if (!(t.storage() instanceof ForeignStorage fs) || fs.backend() != this) {
            throw new IllegalArgumentException("the " + name() + " backend's " + kernel + " got a tensor "
                    + java.util.Arrays.toString(t.shape()) + " on backend " + t.backend().name()
                    + ": an operation mixed backends");
        }
        return new Tensor(new CpuStorage(fs.data), t.shape(), t.strides(), t.offset());
    }

    private Tensor own(Tensor cpuResult) {
        if (cpuResult == null) {
            return null;
        }
        CpuStorage cs = (CpuStorage) cpuResult.storage();
        long bytes = 4L * cs.data().length;
        if (bytes > maxTensorBytes) {
            throw new io.texforce.tensor.DeviceOutOfMemoryException(name(), bytes, "out of memory on " + name()
                    + ": a tensor of " + bytes + " bytes exceeds the limit of " + maxTensorBytes + " bytes");
        }
        return new Tensor(new ForeignStorage(this, cs.data()), cpuResult.shape(), cpuResult.strides(),
                cpuResult.offset());
    }

    private Tensor[] own(Tensor[] cpuResults) {
        Tensor[] out = new Tensor[cpuResults.length];
        for (int i = 0; i < out.length; i++) {
            out[i] = own(cpuResults[i]);
        }
        return out;
    }

    // ------------------------------------------------------------------ Backend

    @Override
    public String name() {
        return "foreign";
    }

    @Override
    public Storage allocate(int size) {
        return new ForeignStorage(this, new float[size]);
    }

    @Override
    public Storage fromHost(float[] data) {
        hostWrites.incrementAndGet();
        return new ForeignStorage(this, data.clone());
    }

    @Override
    public float[] toHost(Tensor t) {
        hostReads.incrementAndGet();
        return CPU.toHost(cpu(t, "toHost"));
    }

    @Override
    public void copy(Tensor src, Tensor dst) {
        CPU.copy(cpu(src, "copy"), cpu(dst, "copy"));
    }

    @Override
    public Tensor full(int[] shape, float value) {
        return own(CPU.full(shape, value));
    }

    @Override
    public Tensor random(int[] shape, long seed, long offset, boolean uniform) {
        return own(CPU.random(shape, seed, offset, uniform));
    }

    @Override
    public Tensor unary(UnaryOp op, Tensor x, float param) {
        return own(CPU.unary(op, cpu(x, "unary"), param));
    }

    @Override
    public Tensor unaryBackward(UnaryOp op, Tensor gy, Tensor x, float param) {
        return own(CPU.unaryBackward(op, cpu(gy, "unaryBackward"), cpu(x, "unaryBackward"), param));
    }

    @Override
    public Tensor binary(BinaryOp op, Tensor a, Tensor b) {
        return own(CPU.binary(op, cpu(a, "binary"), cpu(b, "binary")));
    }

    @Override
    public Tensor where(Tensor cond, Tensor a, Tensor b) {
        return own(CPU.where(cpu(cond, "where"), cpu(a, "where"), cpu(b, "where")));
    }

    @Override
    public Tensor clamp(Tensor x, float min, float max) {
        return own(CPU.clamp(cpu(x, "clamp"), min, max));
    }

    @Override
    public Tensor reduce(ReduceOp op, Tensor x, int[] dims, boolean keepDim) {
        return own(CPU.reduce(op, cpu(x, "reduce"), dims, keepDim));
    }

    @Override
    public Tensor matmul(Tensor a, Tensor b, boolean transA, boolean transB) {
        return own(CPU.matmul(cpu(a, "matmul"), cpu(b, "matmul"), transA, transB));
    }

    @Override
    public Tensor concat(List<Tensor> parts, int dim) {
        List<Tensor> c = new ArrayList<>(parts.size());
        for (Tensor t : parts) {
            c.add(cpu(t, "concat"));
        }
        return own(CPU.concat(c, dim));
    }

    @Override
    public Tensor embedding(Tensor weight, int[] ids) {
        return own(CPU.embedding(cpu(weight, "embedding"), ids));
    }

    @Override
    public Tensor embeddingBackward(Tensor gy, int[] ids, int vocab) {
        return own(CPU.embeddingBackward(cpu(gy, "embeddingBackward"), ids, vocab));
    }

    @Override
    public Tensor conv2d(Tensor x, Tensor weight, Tensor bias, int stride, int padding) {
        return own(CPU.conv2d(cpu(x, "conv2d"), cpu(weight, "conv2d"), cpu(bias, "conv2d"), stride, padding));
    }

    @Override
    public Tensor conv2dBackwardInput(Tensor gy, Tensor weight, int[] xShape, int stride, int padding) {
        return own(CPU.conv2dBackwardInput(cpu(gy, "conv2dBackwardInput"), cpu(weight, "conv2dBackwardInput"), xShape,
                stride, padding));
    }

    @Override
    public Tensor[] conv2dBackwardWeight(Tensor gy, Tensor x, int[] wShape, int stride, int padding, boolean withBias) {
        return own(CPU.conv2dBackwardWeight(cpu(gy, "conv2dBackwardWeight"), cpu(x, "conv2dBackwardWeight"), wShape,
                stride, padding, withBias));
    }

    @Override
    public Tensor[] groupNorm(Tensor x, int groups, Tensor gamma, Tensor beta, float eps) {
        return own(CPU.groupNorm(cpu(x, "groupNorm"), groups, cpu(gamma, "groupNorm"), cpu(beta, "groupNorm"), eps));
    }

    @Override
    public Tensor[] groupNormBackward(Tensor gy, Tensor x, Tensor mean, Tensor rstd, Tensor gamma, boolean withBeta,
                                      int groups) {
        String k = "groupNormBackward";
        return own(CPU.groupNormBackward(cpu(gy, k), cpu(x, k), cpu(mean, k), cpu(rstd, k), cpu(gamma, k), withBeta,
                groups));
    }

    @Override
    public Tensor[] layerNorm(Tensor x, Tensor gamma, Tensor beta, float eps) {
        return own(CPU.layerNorm(cpu(x, "layerNorm"), cpu(gamma, "layerNorm"), cpu(beta, "layerNorm"), eps));
    }

    @Override
    public Tensor[] layerNormBackward(Tensor gy, Tensor x, Tensor mean, Tensor rstd, Tensor gamma, boolean withBeta) {
        String k = "layerNormBackward";
        return own(CPU.layerNormBackward(cpu(gy, k), cpu(x, k), cpu(mean, k), cpu(rstd, k), cpu(gamma, k), withBeta));
    }

    @Override
    public Tensor softmax(Tensor x) {
        return own(CPU.softmax(cpu(x, "softmax")));
    }

    @Override
    public Tensor softmaxBackward(Tensor gy, Tensor y) {
        return own(CPU.softmaxBackward(cpu(gy, "softmaxBackward"), cpu(y, "softmaxBackward")));
    }

    @Override
    public Tensor[] attention(Tensor q, Tensor k, Tensor v, float scale, boolean causal) {
        return own(CPU.attention(cpu(q, "attention"), cpu(k, "attention"), cpu(v, "attention"), scale, causal));
    }

    @Override
    public Tensor[] attentionBackward(Tensor gOut, Tensor q, Tensor k, Tensor v, Tensor out, Tensor lse, float scale,
                                      boolean causal) {
        String n = "attentionBackward";
        return own(CPU.attentionBackward(cpu(gOut, n), cpu(q, n), cpu(k, n), cpu(v, n), cpu(out, n), cpu(lse, n), scale,
                causal));
    }

    @Override
    public Tensor upsampleNearest2x(Tensor x) {
        return own(CPU.upsampleNearest2x(cpu(x, "upsampleNearest2x")));
    }

    @Override
    public Tensor upsampleNearest2xBackward(Tensor gy) {
        return own(CPU.upsampleNearest2xBackward(cpu(gy, "upsampleNearest2xBackward")));
    }

    @Override
    public Tensor geglu(Tensor x) {
        return own(CPU.geglu(cpu(x, "geglu")));
    }

    @Override
    public Tensor gegluBackward(Tensor gy, Tensor x) {
        return own(CPU.gegluBackward(cpu(gy, "gegluBackward"), cpu(x, "gegluBackward")));
    }

    @Override
    public void addInPlace(Tensor dst, Tensor src, float alpha) {
        CPU.addInPlace(cpu(dst, "addInPlace"), cpu(src, "addInPlace"), alpha);
    }

    @Override
    public void adamW(Tensor param, Tensor g, Tensor m, Tensor v, float lr, float beta1, float beta2, float eps,
                      float weightDecay, int step) {
        String k = "adamW";
        CPU.adamW(cpu(param, k), cpu(g, k), cpu(m, k), cpu(v, k), lr, beta1, beta2, eps, weightDecay, step);
    }
}
