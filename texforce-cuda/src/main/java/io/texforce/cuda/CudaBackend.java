package io.texforce.cuda;

import io.texforce.cuda.KernelModule.HalfArg;
import io.texforce.cuda.KernelModule.Typed;
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

import java.lang.foreign.MemorySegment;
import java.lang.ref.Reference;
import java.util.Arrays;
import java.util.HashMap;
import java.util.List;
import java.util.Map;
import java.util.Optional;

/**
 * The GPU backend: tensors in device memory, the kernels of native/ and cuBLAS for matrix products, all on the
 * default stream of the device's primary context, so every operation is ordered after the previous one and host
 * copies wait for them. Results match {@link io.texforce.tensor.cpu.CpuBackend} op for op in float32 (cuBLAS in
 * strict FP32 unless TF32 is requested).
 *
 * <p>Frozen weights may be stored in bfloat16 or half ({@link #fromHostHalf}). A matrix product or convolution with
 * such a weight runs on cuBLAS with 16-bit inputs and float32 accumulation, its float32 operand rounded to the
 * weight's format first (PyTorch's autocast); an embedding gathers and widens 16-bit rows. Attention asked for in
 * bf16 or fp16 (by a model with such weights) runs on tensor cores ({@link TensorCoreAttention}).
 *
 * <p>Activations are float32 unless {@link #setActivationDtype} asks for a 16-bit format: then matrix products,
 * convolutions and tensor-core attention write their results in that format, and the kernels after them read and
 * write 16-bit tensors directly (native/typed.cuh): an elementwise or normalisation result takes the common format of
 * its full-size tensor inputs (float32 when they differ; a broadcast float32 operand such as a bias does not count,
 * see {@link #broadcastResult}), computed in float32.
 * Reductions, softmax, norm statistics, embeddings, parameter gradients of convolutions and everything an optimizer
 * touches stay float32. See docs/design.md, "Mixed precision".
 *
 * <p>Convolutions run as im2col + cuBLAS, our implicit-GEMM kernel or cuDNN ({@link #setConvAlgorithm}; cuDNN through
 * JavaCPP's CUDA preset, see {@link ConvAlgorithm#CUDNN}).
 *
 * <p>Obtain it with {@link #get()} (GPU 0) or {@link #get(int)}, which throw {@link CudaUnavailableException}
 * ("no CUDA driver/GPU found ...") on machines without a driver or GPU; {@link #unavailableReason()} asks without
 * throwing. {@code Devices.resolve("cuda:N")} reaches the same instances through {@link CudaBackendProvider}.
 */
public final class CudaBackend implements Backend {
    private static final Map<Integer, CudaBackend> INSTANCES = new HashMap<>();
    private static Driver sharedDriver;
    private static CudaUnavailableException failure;
    /** The context current on each thread, so that backends of several GPUs can take turns on one thread. */
    private static final ThreadLocal<MemorySegment> CURRENT = new ThreadLocal<>();

    private final Driver driver;
    private final MemorySegment context;
    private final DeviceAllocator allocator;
    private final KernelModule kernels;
    private final UploadStaging staging;
    private final Cublas cublas;
    private final String deviceName;
    private final int computeCapability;
    private final int sharedMemoryOptIn;
    private final int ordinal;

    private CudaBackend(Driver driver, int ordinal, boolean tf32) {
        this.driver = driver;
        this.ordinal = ordinal;
        int device = driver.device(ordinal);
        this.deviceName = driver.deviceName(device);
        this.computeCapability = 10 * driver.attribute(device, Driver.ATTR_COMPUTE_CAPABILITY_MAJOR)
                + driver.attribute(device, Driver.ATTR_COMPUTE_CAPABILITY_MINOR);
        this.sharedMemoryOptIn = driver.attribute(device, Driver.ATTR_MAX_SHARED_MEMORY_PER_BLOCK_OPTIN);
        this.context = driver.primaryContext(device);
        bind();
        this.allocator = new DeviceAllocator(driver, driver.emulated() ? "cuda-emu" : "cuda:" + ordinal);
        this.staging = new UploadStaging(driver);
        this.kernels = new KernelModule(driver, driver.attribute(device, Driver.ATTR_MULTIPROCESSOR_COUNT));
        this.cublas = driver.emulated() ? new Cublas(tf32, driver.library()) : new Cublas(tf32);
    }

    /**
     * Lets float32 GEMMs (Linear layers, the convolutions' GEMMs, batched matmuls) run on TF32 tensor cores:
     * inputs rounded to 10-bit mantissas, float32 sums, about 8x the float32 throughput on an A100/H100, with errors
     * near 1e-3 relative (PyTorch's {@code torch.backends.cuda.matmul.allow_tf32}). Off by default: float32 stays
     * exact, the reference. The CLI's {@code --tf32} sets it.
     */
    public void setTf32(boolean on) {
        bind();
        cublas.setTf32(on);
    }

    /** Whether TF32 GEMMs are allowed (see {@link #setTf32}). */
    public boolean tf32() {
        return cublas.tf32();
    }

    /** The format of GEMM, convolution and attention results (see {@link #setActivationDtype}). */
    private volatile WeightDtype activations = WeightDtype.FP32;
    /** The format a thread's {@link #activations(WeightDtype)} region asks for, over {@link #activations}. */
    private final ThreadLocal<WeightDtype> regionActivations = new ThreadLocal<>();

    /**
     * Keeps activations in {@code dtype}: FP32 (the default, the reference), or BF16/FP16, as a PyTorch model run in
     * that dtype or under autocast: every GEMM takes 16-bit inputs (float32 operands rounded) and writes a 16-bit
     * result, half the bytes of float32 for each kernel after it and for every activation saved for the backward.
     * Sums, norm statistics, softmax and reductions stay float32. Use the format of the model's 16-bit weights (a
     * weight of the other 16-bit format makes its products run in float32). This is the backend's format, for every
     * thread; a thread's {@link #activations(WeightDtype)} region overrides it for that thread.
     */
    @Override
    public void setActivationDtype(WeightDtype dtype) {
        activations = dtype;
    }

    /** The activation format for the calling thread: its region's, else the backend's. */
    @Override
    public WeightDtype activationDtype() {
        WeightDtype region = regionActivations.get();
        return region != null ? region : activations;
    }

    /**
     * Sets the activation format for the calling thread only until the scope closes, as PyTorch's autocast regions
     * are per thread: the reward thread can score in float32 while the sampling thread runs the U-Net in bf16.
     */
    @Override
    public ActivationScope activations(WeightDtype dtype) {
        WeightDtype before = regionActivations.get();
        regionActivations.set(dtype);
        return () -> {
            if (before == null) {
                regionActivations.remove();
            } else {
                regionActivations.set(before);
            }
        };
    }

    /**
     * The backend on GPU 0 (created on first use; strict FP32 GEMMs unless {@code -Dtexforce.cuda.tf32=true} or
     * {@link #setTf32}); throws if there is no usable GPU.
     */
    public static CudaBackend get() {
        return get(0);
    }

    /** The backend on GPU {@code ordinal} (created on first use); throws if there is no such usable GPU. */
    public static synchronized CudaBackend get(int ordinal) {
        CudaBackend b = INSTANCES.get(ordinal);
        if (b != null) {
            return b;
        }
        if (failure != null) {
            throw failure;
        }
        if (sharedDriver == null) {
            try {
                sharedDriver = Driver.load();
            } catch (CudaUnavailableException e) {
                failure = e;
                throw e;
            }
        }
        int count = sharedDriver.deviceCount();
        if (ordinal < 0 || ordinal >= count) {
            throw new CudaUnavailableException("no CUDA device " + ordinal + ": the driver reports " + count
                    + " device(s), cuda:0" + (count > 1 ? " to cuda:" + (count - 1) : ""));
        }
        b = new CudaBackend(sharedDriver, ordinal, Boolean.getBoolean("texforce.cuda.tf32"));
        INSTANCES.put(ordinal, b);
        return b;
    }

    /** The kernels of this backend's module (for tests that launch one directly). */
    KernelModule kernels() {
        return kernels;
    }

    /** A backend on an already loaded driver (device 0, strict FP32 GEMMs): how {@link CudaEmulator} makes one. */
    static CudaBackend on(Driver driver) {
        return new CudaBackend(driver, 0, false);
    }

    /** The caching allocator of this GPU's memory (for tests). */
    DeviceAllocator allocator() {
        return allocator;
    }

    /** Whether this backend runs on the CUDA host emulator. */
    public boolean emulated() {
        return driver.emulated();
    }

    /**
     * Emulator only: run each block's threads in reverse order between barriers (a kernel whose results depend on
     * the order lacks a barrier), on {@code hostThreads} host threads (0: the default).
     */
    public void configureEmulator(boolean reverse, int hostThreads) {
        driver.configureEmulator(reverse, hostThreads, 0);
    }

    /** How many GPUs the driver reports (0 without a driver or GPU). */
    public static synchronized int deviceCount() {
        try {
            get();
        } catch (CudaUnavailableException e) {
            return 0;
        }
        return sharedDriver.deviceCount();
    }

    /** Why {@link #get()} would fail, or empty when the GPU backend is usable. */
    public static Optional<String> unavailableReason() {
        try {
            get();
            return Optional.empty();
        } catch (CudaUnavailableException e) {
            return Optional.of(e.getMessage());
        }
    }

    @Override
    public String name() {
        return driver.emulated() ? "cuda-emu" : "cuda:" + ordinal;
    }

    /** The GPU's name and compute capability, e.g. "NVIDIA H100 80GB HBM3 (sm_90)". */
    public String device() {
        return deviceName + " (sm_" + computeCapability + ")";
    }

    /** Driver version as major.minor. */
    public String driverVersion() {
        int v = driver.driverVersion();
        return v / 1000 + "." + v % 1000 / 10;
    }

    /** Waits for every queued kernel; a failed launch surfaces here. */
    @Override
    public void synchronize() {
        bind();
        driver.synchronize();
    }

    /** Bytes held by live tensors and bytes cached for reuse. */
    public long[] memoryInUse() {
        return new long[]{allocator.liveBytes(), allocator.cachedBytes()};
    }

    /** {free, total} bytes of the device's memory, as the driver reports them (other processes' use included). */
    public long[] deviceMemory() {
        bind();
        return driver.memoryInfo();
    }

    /** The most bytes live tensors held at once since {@link #resetPeakMemory} (or since the backend started). */
    public long peakMemory() {
        return allocator.peakLiveBytes();
    }

    /** Starts {@link #peakMemory} over from the bytes live now. */
    public void resetPeakMemory() {
        allocator.resetPeak();
    }

    // ------------------------------------------------------------------ storage

    /** Makes this GPU's primary context current on the calling thread (a no-op when it already is). */
    private void bind() {
        if (CURRENT.get() != context) {
            driver.setCurrent(context);
            CURRENT.set(context);
        }
    }

    private CudaStorage uninitialised(long floats) {
        return uninitialised(floats, WeightDtype.FP32);
    }

    private CudaStorage uninitialised(long elements, WeightDtype dtype) {
        if (elements > Integer.MAX_VALUE) {
            throw new IllegalArgumentException("tensor of " + elements + " elements exceeds the int index range");
        }
        bind();
        return allocator.allocate(dtype.bytes() * elements, p -> new CudaStorage(this, p, (int) elements, dtype));
    }

    /** An uninitialised dense tensor of elements in {@code dtype}. */
    private Tensor empty(WeightDtype dtype, int... shape) {
        return new Tensor(uninitialised(Shape.numel(shape), dtype), shape, Shape.contiguousStrides(shape), 0);
    }

    /** The format of an elementwise result: that of its tensor inputs when they share one, else float32. */
    static WeightDtype common(WeightDtype a, WeightDtype b) {
        return a == b ? a : WeightDtype.FP32;
    }

    /**
     * The format of a broadcasting binary result of {@code numel} elements: the common format of the operands that
     * are not broadcast up to it. A smaller float32 operand (a Linear's bias, a per-channel scale, a timestep
     * embedding added to every pixel) so takes the format of the full-size 16-bit one, as a bias does inside a
     * 16-bit Linear in PyTorch, instead of turning a whole activation into float32; two full-size operands of
     * different formats give float32, and so do two broadcast ones.
     */
    static WeightDtype broadcastResult(Tensor x, Tensor y, int numel) {
        boolean xFull = x.numel() == numel, yFull = y.numel() == numel;
        if (xFull != yFull) {
            return xFull ? x.dtype() : y.dtype();
        }
        return common(x.dtype(), y.dtype());
    }

    /** t as dense row-major elements of its own format: t itself when it already is, else a contiguous copy. */
    private Tensor contiguous(Tensor t) {
        storage(t);
        return t.isContiguous() ? t : denseCopy(t);
    }

    /** A contiguous tensor of any format for a Typed kernel parameter. */
    private Typed typed(Tensor t) {
        return new Typed(contiguous(t));
    }

    private Tensor empty(int... shape) {
        return empty(WeightDtype.FP32, shape);
    }

    private Tensor zeros(int... shape) {
        Tensor t = empty(shape);
        if (t.numel() > 0) {
            driver.fill32(address(t), 0, t.numel());
        }
        return t;
    }

    /** The device address of a tensor's first element (offsets count elements of the storage's width). */
    static long address(Tensor t) {
        CudaStorage s = storage(t);
        return s.pointer() + (long) s.dtype().bytes() * t.offset();
    }

    private static CudaStorage storage(Tensor t) {
        if (!(t.storage() instanceof CudaStorage s)) {
            throw new IllegalArgumentException("tensor on backend " + t.backend().name()
                    + " passed to the CUDA backend; move it with tensor.to(backend)");
        }
        return s;
    }

    /**
     * t as dense row-major float32: t itself when it already is, else a contiguous float32 copy. A 16-bit tensor
     * widens here (through {@link #copy}), so the kernels that read float32 inputs through this method accept 16-bit
     * weights and activations.
     */
    private Tensor dense(Tensor t) {
        storage(t);
        if (t.dtype() == WeightDtype.FP32 && t.isContiguous()) {
            return t;
        }
        Tensor out = empty(t.shape());
        copy(t, out);
        return out;
    }

    /** The kernel {@code base} for elements of a 16-bit format, e.g. {@code add_in_place_bf16} (native/half.cu). */
    static String halfKernel(String base, WeightDtype dtype) {
        if (!dtype.isHalf()) {
            throw new IllegalArgumentException(base + " has variants for bf16 and fp16 only, not " + dtype.cliName());
        }
        return base + "_" + dtype.cliName();
    }

    private Tensor denseOrNull(Tensor t) {
        return t == null ? null : dense(t);
    }

    @Override
    public Storage allocate(int size) {
        CudaStorage s = uninitialised(size);
        if (size > 0) {
            driver.fill32(s.pointer(), 0, size);
        }
        return s;
    }

    @Override
    public Storage fromHost(float[] data) {
        CudaStorage s = uninitialised(data.length);
        if (data.length > 0) {
            staging.upload(s.pointer(), MemorySegment.ofArray(data), 4L * data.length);
        }
        return s;
    }

    /** Device storage of 16-bit weight elements: the bit patterns are uploaded as they are. */
    @Override
    public Storage fromHostHalf(short[] bits, WeightDtype dtype) {
        if (!dtype.isHalf()) {
            throw new IllegalArgumentException("fromHostHalf takes bf16 or fp16 bit patterns, not " + dtype.cliName());
        }
        CudaStorage s = uninitialised(bits.length, dtype);
        if (bits.length > 0) {
            staging.upload(s.pointer(), MemorySegment.ofArray(bits), 2L * bits.length);
        }
        return s;
    }

    /** An int array in device memory (token ids), viewed as a storage of the same number of 32-bit words. */
    private CudaStorage fromHost(int[] data) {
        CudaStorage s = uninitialised(data.length);
        if (data.length > 0) {
            staging.upload(s.pointer(), MemorySegment.ofArray(data), 4L * data.length);
        }
        return s;
    }

    @Override
    public float[] toHost(Tensor t) {
        bind();
        Tensor d = dense(t);
        float[] out = new float[d.numel()];
        if (out.length > 0) {
            driver.copyToHost(MemorySegment.ofArray(out), address(d), 4L * out.length);
        }
        Reference.reachabilityFence(d);
        return out;
    }

    @Override
    public void copy(Tensor src, Tensor dst) {
        if (!Arrays.equals(src.shape(), dst.shape())) {
            throw new IllegalArgumentException("copy of shape " + Shape.str(src.shape()) + " into "
                    + Shape.str(dst.shape()));
        }
        bind();
        storage(src);
        storage(dst);
        // Any format into any other: a 16-bit source widens, a 16-bit destination gets each value rounded.
        kernels.elementwise("copy_strided", src.numel(), new Typed(src), new Typed(dst),
                Indexer.of(src.shape(), src.strides(), dst.strides()), src.numel());
    }

    /** A dense copy in t's own format: a 16-bit activation (or weight) stays 16-bit. */
    @Override
    public Tensor denseCopy(Tensor t) {
        bind();
        Tensor out = empty(t.dtype(), t.shape());
        copy(t, out);
        return out;
    }

    /**
     * A dense copy of {@code t} (any strides, any format) rounded to 16-bit {@code dtype}, to nearest with ties to
     * even like {@link WeightDtype#encode}: the float32 operand of a 16-bit GEMM.
     */
    Tensor roundTo(Tensor t, WeightDtype dtype) {
        bind();
        storage(t);
        Tensor out = empty(dtype, t.shape());
        copy(t, out);
        return out;
    }

    @Override
    public Tensor full(int[] shape, float value) {
        Tensor t = empty(shape);
        if (t.numel() > 0) {
            driver.fill32(address(t), Float.floatToRawIntBits(value), t.numel());
        }
        return t;
    }

    @Override
    public Tensor random(int[] shape, long seed, long offset, boolean uniform) {
        Tensor t = empty(shape);
        int n = t.numel();
        if (offset < 0 || offset > Long.MAX_VALUE - n) {
            throw new IllegalArgumentException("stream offset " + offset + " must be in [0, 2^63 - " + n + "]");
        }
        kernels.elementwise("philox_fill", Math.ceilDiv(n, 4) + 1L, seed, offset, t, n, uniform ? 0 : 1);
        return t;
    }

    // ------------------------------------------------------------------ elementwise

    @Override
    public Tensor unary(UnaryOp op, Tensor x, float param) {
        bind();
        Tensor out = empty(x.dtype(), x.shape());
        kernels.elementwise("unary_forward", out.numel(), op.ordinal(), param, typed(x), new Typed(out), out.numel());
        return out;
    }

    @Override
    public Tensor unaryBackward(UnaryOp op, Tensor gy, Tensor x, float param) {
        bind();
        Tensor out = empty(common(gy.dtype(), x.dtype()), x.shape());
        kernels.elementwise("unary_backward", out.numel(), op.ordinal(), param, typed(gy), typed(x), new Typed(out),
                out.numel());
        return out;
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

    @Override
    public Tensor binary(BinaryOp op, Tensor x, Tensor y) {
        bind();
        storage(x);
        storage(y);
        int[] shape = Shape.broadcast(x.shape(), y.shape());
        Tensor out = empty(broadcastResult(x, y, Shape.numel(shape)), shape);
        Indexer ix = Indexer.of(shape, broadcastStrides(x, shape), broadcastStrides(y, shape));
        kernels.elementwise("binary", out.numel(), op.ordinal(), new Typed(x), new Typed(y), new Typed(out), ix,
                out.numel());
        return out;
    }

    @Override
    public Tensor where(Tensor condition, Tensor x, Tensor y) {
        bind();
        storage(condition);
        storage(x);
        storage(y);
        int[] shape = Shape.broadcast(Shape.broadcast(condition.shape(), x.shape()), y.shape());
        Tensor out = empty(broadcastResult(x, y, Shape.numel(shape)), shape);
        Indexer ix = Indexer.of(shape, broadcastStrides(condition, shape), broadcastStrides(x, shape),
                broadcastStrides(y, shape));
        kernels.elementwise("where_select", out.numel(), new Typed(condition), new Typed(x), new Typed(y),
                new Typed(out), ix, out.numel());
        return out;
    }

    @Override
    public Tensor clamp(Tensor x, float min, float max) {
        bind();
        Tensor out = empty(x.dtype(), x.shape());
        kernels.elementwise("clamp", out.numel(), typed(x), min, max, new Typed(out), out.numel());
        return out;
    }

    // ------------------------------------------------------------------ reductions

    @Override
    public Tensor reduce(ReduceOp op, Tensor input, int[] dims, boolean keepDim) {
        bind();
        Tensor x = input;
        storage(x);
        ReducePlan plan = ReducePlan.of(x.shape(), dims, keepDim);
        int outer = plan.outer(), len = plan.len();
        Tensor out = empty(plan.outShape());
        if (plan.leading() && x.isContiguous() && (op == ReduceOp.SUM || op == ReduceOp.MEAN)) {
            // Reducing leading dims of a dense tensor (bias gradients): columns, read once and coalesced.
            kernels.elementwise("reduce_columns", outer, op.ordinal(), new Typed(x), out, len, outer);
            return out;
        }
        Typed rows = typed(x.detach().permute(plan.perm()));
        kernels.launch("reduce_rows", outer, 1, KernelModule.THREADS, 0, op.ordinal(), rows, out, outer, len);
        return out;
    }

    // ------------------------------------------------------------------ linear algebra

    /**
     * Row-major C = alpha op(A) op(B) + beta C on cuBLAS, with A and B both float32 or both of one 16-bit format and C
     * float32 or of the inputs' 16-bit format; the tensors stay reachable until it is enqueued.
     */
    private void gemm(boolean transA, boolean transB, int m, int n, int k, float alpha, Tensor a, int lda,
                      long strideA, Tensor b, int ldb, long strideB, float beta, Tensor c, int ldc, long strideC,
                      int batch) {
        if (a.dtype() != b.dtype() || (c.dtype() != WeightDtype.FP32 && c.dtype() != a.dtype())) {
            throw new IllegalStateException("GEMM of " + a.dtype().cliName() + " A, " + b.dtype().cliName() + " B into "
                    + c.dtype().cliName() + " C: the inputs must share one format and C must be fp32 or theirs");
        }
        if (a.dtype() == WeightDtype.BF16 && computeCapability < 80) {
            // cuBLAS takes bf16 inputs from sm_80 on. Before that (a T4), the operands, already rounded to bf16, are
            // widened and multiplied in float32: their products are exact there, so the result is a bf16 GEMM's
            // with float32 accumulation, only slower.
            // A bf16 C (16-bit activations) gets the float32 result rounded, which is what cuBLAS's epilogue does.
            Tensor wa = dense(a), wb = dense(b);
            Tensor wc = c.dtype().isHalf() ? (beta == 0f ? empty(c.shape()) : dense(c)) : c;
            cublas.gemm(WeightDtype.FP32, WeightDtype.FP32, transA, transB, m, n, k, alpha, address(wa), lda, strideA,
                    address(wb), ldb, strideB, beta, address(wc), ldc, strideC, batch);
            if (wc != c) {
                copy(wc, c);
            }
            Reference.reachabilityFence(wa);
            Reference.reachabilityFence(wb);
            Reference.reachabilityFence(wc);
        } else {
            cublas.gemm(a.dtype(), c.dtype(), transA, transB, m, n, k, alpha, address(a), lda, strideA, address(b),
                    ldb, strideB, beta, address(c), ldc, strideC, batch);
        }
        Reference.reachabilityFence(a);
        Reference.reachabilityFence(b);
        Reference.reachabilityFence(c);
    }

    @Override
    public Tensor matmul(Tensor a, Tensor b, boolean transA, boolean transB) {
        bind();
        MatmulShape g = MatmulShape.of(a.shape(), b.shape(), transA, transB);
        int m = g.m(), n = g.n(), k = g.k(), nb = g.batchCount();
        int[] batch = g.batch();
        int[] outShape = g.outShape();
        if (g.empty()) {
            return zeros(outShape);
        }
        WeightDtype inputs = gemmInputs(a.dtype(), b.dtype(), activationDtype());
        Tensor c = empty(gemmOutput(inputs), outShape);
        boolean aShared = g.aShared(), bShared = g.bShared();
        int lda = g.lda(), ldb = g.ldb();
        if (bShared && !transA) {
            // Fold a's batch into rows: one large GEMM against the shared b (the Linear-layer case).
            Tensor da = operand(a.expand(MatmulShape.withMatrix(batch, m, k)), inputs);
            Tensor db = operand(b, inputs);
            gemm(false, transB, nb * m, n, k, 1f, da, k, 0, db, ldb, 0, 0f, c, n, 0, 1);
            return c;
        }
        Tensor da = operand(aShared ? a : a.expand(g.aRows()), inputs);
        Tensor db = operand(bShared ? b : b.expand(g.bRows()), inputs);
        gemm(transA, transB, m, n, k, 1f, da, lda, aShared ? 0 : (long) m * k, db, ldb, bShared ? 0 : (long) k * n,
                0f, c, n, (long) m * n, nb);
        return c;
    }

    /**
     * The element format both inputs of a GEMM go to cuBLAS in: float32 for two float32 operands; the 16-bit format
     * of a 16-bit operand (a frozen weight or activation), to which the float32 one is rounded, as autocast does;
     * float32 again for a bf16 operand with an fp16 one, since rounding either to the other's format would lose bits.
     */
    static WeightDtype gemmInputs(WeightDtype a, WeightDtype b) {
        return gemmInputs(a, b, WeightDtype.FP32);
    }

    /**
     * {@link #gemmInputs(WeightDtype, WeightDtype)} with 16-bit activations: the GEMM runs in the one 16-bit format
     * among the operands and the activation format (two float32 operands are rounded to the activation format), or in
     * float32 when two different 16-bit formats meet.
     */
    static WeightDtype gemmInputs(WeightDtype a, WeightDtype b, WeightDtype activations) {
        WeightDtype half = null;
        for (WeightDtype d : new WeightDtype[]{a, b, activations}) {
            if (d.isHalf()) {
                if (half != null && half != d) {
                    return WeightDtype.FP32;
                }
                half = d;
            }
        }
        return half == null ? WeightDtype.FP32 : half;
    }

    /** The format of a GEMM's result: the activation format when the GEMM runs in it, else float32. */
    private WeightDtype gemmOutput(WeightDtype inputs) {
        WeightDtype act = activationDtype();
        return act.isHalf() && inputs == act ? act : WeightDtype.FP32;
    }

    /** t dense in row-major order in the GEMM input format: t itself when it already is, else a converted copy. */
    private Tensor operand(Tensor t, WeightDtype inputs) {
        if (inputs == WeightDtype.FP32) {
            return dense(t);
        }
        if (t.dtype() == inputs && t.isContiguous()) {
            return t;
        }
        return roundTo(t, inputs);
    }

    @Override
    public Tensor concat(List<Tensor> parts, int dim) {
        int[] shape = Shape.concat(parts.stream().map(Tensor::shape).toList(), dim);
        WeightDtype format = parts.isEmpty() ? WeightDtype.FP32 : parts.get(0).dtype();
        for (Tensor t : parts) {
            format = common(format, t.dtype());
        }
        Tensor out = empty(format, shape);
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
        bind();
        int vocab = weight.shape()[0], dim = weight.shape()[1];
        for (int i = 0; i < ids.length; i++) {
            if (ids[i] < 0 || ids[i] >= vocab) {
                throw new IndexOutOfBoundsException("token id " + ids[i] + " at position " + i
                        + " is outside the embedding table of " + vocab + " rows");
            }
        }
        Tensor out = empty(ids.length, dim);
        if (weight.dtype().isHalf() && weight.isContiguous()) {
            // A 16-bit table is read in place, the picked rows widened; no float32 copy of the table.
            kernels.elementwise(halfKernel("embedding_gather", weight.dtype()), (long) ids.length * dim,
                    new HalfArg(weight), fromHost(ids), out, ids.length, dim);
        } else {
            kernels.elementwise("embedding_gather", (long) ids.length * dim, dense(weight), fromHost(ids), out,
                    ids.length, dim);
        }
        return out;
    }

    @Override
    public Tensor embeddingBackward(Tensor gy, int[] ids, int vocab) {
        bind();
        int dim = gy.shape()[gy.dim() - 1];
        for (int i = 0; i < ids.length; i++) {
            if (ids[i] < 0 || ids[i] >= vocab) {
                throw new IndexOutOfBoundsException("token id " + ids[i] + " at position " + i
                        + " is outside the embedding table of " + vocab + " rows");
            }
        }
        Tensor out = zeros(vocab, dim);
        kernels.elementwise("embedding_scatter_add", (long) ids.length * dim, dense(gy), fromHost(ids), out,
                ids.length, dim);
        return out;
    }

    private static void checkConv(int[] xs, int[] ws) {
        if (xs.length != 4 || ws.length != 4 || xs[1] != ws[1]) {
            throw new IllegalArgumentException("conv2d of input " + Shape.str(xs) + " with weight " + Shape.str(ws)
                    + " (expected [N, C, H, W] and [O, C, kh, kw])");
        }
    }

    private static int outSize(int in, int kernel, int stride, int padding) {
        return (in + 2 * padding - kernel) / stride + 1;
    }

    /**
     * im2col of x [n, c, h, w] (any format) into [n, c * kh * kw, oh * ow] with elements of {@code format}: float32,
     * or the 16-bit format of the GEMM the columns feed (each value rounded as it is written).
     */
    private Tensor columns(Tensor x, int[] ws, int oh, int ow, int stride, int padding, WeightDtype format) {
        int[] xs = x.shape();
        Tensor col = empty(format, xs[0], xs[1] * ws[2] * ws[3], oh * ow);
        kernels.elementwise("im2col", col.numel(), typed(x), new Typed(col), xs[0], xs[1], xs[2], xs[3], ws[2], ws[3],
                oh, ow, stride, padding);
        return col;
    }

    @Override
    public Tensor conv2d(Tensor x, Tensor weight, Tensor bias, int stride, int padding) {
        bind();
        int[] xs = x.shape(), ws = weight.shape();
        checkConv(xs, ws);
        int oh = outSize(xs[2], ws[2], stride, padding), ow = outSize(xs[3], ws[3], stride, padding);
        int rows = xs[1] * ws[2] * ws[3], plane = oh * ow;
        WeightDtype inputs = gemmInputs(weight.dtype(), x.dtype(), activationDtype());
        WeightDtype output = gemmOutput(inputs);
        ConvAlgorithm algorithm = convAlgorithm;
        if (algorithm == ConvAlgorithm.IMPLICIT_GEMM) {
            return conv2dImplicit(x, weight, bias, stride, padding, oh, ow, inputs, output);
        }
        if (algorithm == ConvAlgorithm.CUDNN && output == inputs && xs[0] > 0) {
            Tensor y = empty(output, xs[0], ws[0], oh, ow);
            Tensor xd = cudnnOperand(x, inputs), wd = cudnnOperand(weight, inputs);
            Cudnn.Conv conv = cudnn().conv(xs, ws, stride, padding, inputs, tf32());
            onCudnn(conv.forwardWorkspace(), work -> conv.forward(address(xd), address(wd), address(y), work), xd, wd);
            if (bias != null) {
                kernels.elementwise("add_channel_bias", y.numel(), new Typed(y), dense(bias), xs[0], ws[0], plane);
            }
            return y;
        }
        // Columns in the GEMM's format: a 16-bit weight's own (autocast's conv), else float32 or the activations'.
        Tensor col = columns(x, ws, oh, ow, stride, padding, inputs);
        Tensor y = empty(output, xs[0], ws[0], oh, ow);
        gemm(false, false, ws[0], plane, rows, 1f, operand(weight, inputs), rows, 0, col, plane, (long) rows * plane,
                0f, y, plane, (long) ws[0] * plane, xs[0]);
        if (bias != null) {
            kernels.elementwise("add_channel_bias", y.numel(), new Typed(y), dense(bias), xs[0], ws[0], plane);
        }
        return y;
    }

    /**
     * How convolutions run: {@link ConvAlgorithm#IM2COL_GEMM} by default, until a GPU benchmark ({@code bench
     * kernels}: our implicit GEMM and cuDNN against im2col + cuBLAS) shows another faster; {@code
     * -Dtexforce.cuda.conv=implicit|cudnn} or {@link #setConvAlgorithm} changes it.
     */
    private volatile ConvAlgorithm convAlgorithm =
            ConvAlgorithm.parse(System.getProperty("texforce.cuda.conv", ConvAlgorithm.IM2COL_GEMM.cliName()));
    private Cudnn cudnn;
    private CudaUnavailableException cudnnFailure;

    /**
     * Sets how convolutions run (see {@link ConvAlgorithm}). Choosing {@link ConvAlgorithm#CUDNN} loads cuDNN at
     * once, so that a machine without it fails here ({@link CudaUnavailableException} naming what is missing)
     * rather than at the first convolution.
     */
    public void setConvAlgorithm(ConvAlgorithm algorithm) {
        if (algorithm == ConvAlgorithm.CUDNN) {
            cudnn();
        }
        convAlgorithm = algorithm;
    }

    /** How convolutions run (see {@link #setConvAlgorithm}). */
    public ConvAlgorithm convAlgorithm() {
        return convAlgorithm;
    }

    /** cuDNN's version on this device, e.g. "9.19.0"; throws {@link CudaUnavailableException} without cuDNN. */
    public String cudnnVersion() {
        return cudnn().version();
    }

    /** This device's cuDNN handle, created on first use; a failure is remembered and thrown again. */
    synchronized Cudnn cudnn() {
        bind();  // cudnnCreate, and every call after, need this device's context on the calling thread
        if (cudnn == null) {
            if (cudnnFailure != null) {
                throw cudnnFailure;
            }
            try {
                cudnn = Cudnn.open(driver);
            } catch (CudaUnavailableException e) {
                cudnnFailure = e;
                throw e;
            }
        }
        return cudnn;
    }

    /**
     * t dense in {@code format} at an address cuDNN's vectorised algorithms take (16-byte aligned): a contiguous view
     * that starts inside its storage (a chunk, a narrowed batch) is copied.
     */
    private Tensor cudnnOperand(Tensor t, WeightDtype format) {
        Tensor d = operand(t, format);
        return address(d) % 16 == 0 ? d : denseCopy(d);
    }

    /**
     * Runs a cuDNN call with a workspace of {@code bytes} from our allocator (address 0 for none), keeping the
     * workspace and {@code operands} (converted copies the call reads by address) reachable until it has been queued.
     */
    private void onCudnn(long bytes, java.util.function.LongConsumer call, Tensor... operands) {
        Tensor work = bytes <= 0 ? null : empty(WeightDtype.FP32, Math.toIntExact(Math.ceilDiv(bytes, Float.BYTES)));
        call.accept(work == null ? 0 : address(work));
        Reference.reachabilityFence(work);
        Reference.reachabilityFence(operands);
    }

    /**
     * The implicit-GEMM convolution with the GEMM path's formats: products of {@code inputs} values (the weight
     * rounded to a 16-bit input format as {@link #operand} rounds it, x rounded inside the kernel), float32 sums,
     * the result written in {@code output}; x is read in place whatever its format.
     */
    private Tensor conv2dImplicit(Tensor x, Tensor weight, Tensor bias, int stride, int padding, int oh, int ow,
                                  WeightDtype inputs, WeightDtype output) {
        int[] xs = x.shape(), ws = weight.shape();
        Tensor y = empty(output, xs[0], ws[0], oh, ow);
        Tensor w = operand(weight, inputs);
        boolean half = inputs.isHalf();
        kernels.launch(half ? halfKernel("conv2d_implicit", inputs) : "conv2d_implicit",
                Math.ceilDiv(xs[0] * oh * ow, CONV_TILE), Math.ceilDiv(ws[0], CONV_TILE), KernelModule.THREADS, 0,
                typed(x), half ? new HalfArg(w) : w, bias == null ? null : dense(bias), new Typed(y), xs[0],
                xs[1], xs[2], xs[3], ws[0], ws[2], ws[3], oh, ow, stride, padding);
        return y;
    }

    private static final int CONV_TILE = 64;

    @Override
    public Tensor conv2dBackwardInput(Tensor gy, Tensor weight, int[] xs, int stride, int padding) {
        bind();
        int[] ws = weight.shape();
        checkConv(xs, ws);
        int oh = outSize(xs[2], ws[2], stride, padding), ow = outSize(xs[3], ws[3], stride, padding);
        int rows = xs[1] * ws[2] * ws[3], plane = oh * ow;
        WeightDtype inputs = gemmInputs(weight.dtype(), gy.dtype(), activationDtype());
        if (convAlgorithm == ConvAlgorithm.CUDNN && gemmOutput(inputs) == inputs && xs[0] > 0) {
            Tensor gx = empty(inputs, xs);
            Tensor wd = cudnnOperand(weight, inputs), g = cudnnOperand(gy, inputs);
            Cudnn.Conv conv = cudnn().conv(xs, ws, stride, padding, inputs, tf32());
            onCudnn(conv.backwardDataWorkspace(),
                    work -> conv.backwardData(address(wd), address(g), address(gx), work), wd, g);
            return gx;
        }
        // The column gradients stay float32: col2im sums up to kh * kw of them per pixel, rounded once into gx.
        Tensor col = empty(xs[0], rows, plane);
        gemm(true, false, rows, plane, ws[0], 1f, operand(weight, inputs), rows, 0, operand(gy, inputs), plane,
                (long) ws[0] * plane, 0f, col, plane, (long) rows * plane, xs[0]);
        Tensor gx = empty(gemmOutput(inputs), xs);
        kernels.elementwise("col2im", gx.numel(), new Typed(col), new Typed(gx), xs[0], xs[1], xs[2], xs[3], ws[2],
                ws[3], oh, ow, stride, padding);
        return gx;
    }

    @Override
    public Tensor[] conv2dBackwardWeight(Tensor gy, Tensor x, int[] ws, int stride, int padding, boolean withBias) {
        bind();
        int[] xs = x.shape();
        checkConv(xs, ws);
        int oh = outSize(xs[2], ws[2], stride, padding), ow = outSize(xs[3], ws[3], stride, padding);
        int rows = xs[1] * ws[2] * ws[3], plane = oh * ow;
        // The weight's gradient is float32 whatever the operands' format (a parameter gradient).
        WeightDtype inputs = gemmInputs(gy.dtype(), x.dtype(), activationDtype());
        if (convAlgorithm == ConvAlgorithm.CUDNN && inputs == WeightDtype.FP32 && xs[0] > 0) {
            // cuDNN writes the filter gradient in its data's format, so only float32 data takes this path.
            Tensor xd = cudnnOperand(x, inputs), g = cudnnOperand(gy, inputs);
            Tensor gw = empty(ws);
            Cudnn.Conv conv = cudnn().conv(xs, ws, stride, padding, inputs, tf32());
            onCudnn(conv.backwardFilterWorkspace(),
                    work -> conv.backwardFilter(address(xd), address(g), address(gw), work), xd);
            Tensor gb = withBias ? reduce(ReduceOp.SUM, g.reshape(xs[0], ws[0], plane), new int[]{0, 2}, false) : null;
            return new Tensor[]{gw, gb};
        }
        Tensor col = columns(x, ws, oh, ow, stride, padding, inputs);
        Tensor g = operand(gy, inputs);
        Tensor gw = empty(ws);
        for (int b = 0; b < xs[0]; b++) {
            Tensor gyB = g.detach().select(0, b), colB = col.detach().select(0, b);
            gemm(false, true, ws[0], rows, plane, 1f, gyB, plane, 0, colB, plane, 0, b == 0 ? 0f : 1f, gw, rows, 0, 1);
        }
        if (xs[0] == 0) {
            gw = zeros(ws);
        }
        Tensor gb = withBias ? reduce(ReduceOp.SUM, g.reshape(xs[0], ws[0], plane), new int[]{0, 2}, false) : null;
        return new Tensor[]{gw, gb};
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
        return groupNorm(x, groups, gamma, beta, eps, false);
    }

    /**
     * Group norm followed by SiLU in one pass (the U-Net's GroupNorm + SiLU pairs): returns {y, mean, rstd} with
     * y = silu(groupNorm(x)).
     */
    public Tensor[] groupNormSilu(Tensor x, int groups, Tensor gamma, Tensor beta, float eps) {
        return groupNorm(x, groups, gamma, beta, eps, true);
    }

    private Tensor[] groupNorm(Tensor x, int groups, Tensor gamma, Tensor beta, float eps, boolean silu) {
        bind();
        int[] s = x.shape();
        if (s.length < 2 || groups <= 0 || s[1] % groups != 0) {
            throw new IllegalArgumentException("group norm with " + groups + " groups of input " + Shape.str(s)
                    + ": channels must be divisible by the group count");
        }
        int n = s[0], c = s[1], sp = spatial(s);
        Tensor y = empty(x.dtype(), s), mean = empty(n, groups), rstd = empty(n, groups);
        kernels.launch("group_norm_forward", n * groups, 1, KernelModule.THREADS, 0, typed(x), denseOrNull(gamma),
                denseOrNull(beta), new Typed(y), mean, rstd, c, sp, groups, eps, silu ? 1 : 0);
        return new Tensor[]{y, mean, rstd};
    }

    @Override
    public Tensor[] groupNormBackward(Tensor gy, Tensor x, Tensor mean, Tensor rstd, Tensor gamma, boolean withBeta,
                                      int groups) {
        return groupNormBackward(gy, x, mean, rstd, gamma, null, withBeta, groups, false);
    }

    /** Gradients of {@link #groupNormSilu}: {gx, gGamma, gBeta}; beta is needed to rebuild the SiLU input. */
    public Tensor[] groupNormSiluBackward(Tensor gy, Tensor x, Tensor mean, Tensor rstd, Tensor gamma, Tensor beta,
                                          int groups) {
        return groupNormBackward(gy, x, mean, rstd, gamma, beta, beta != null, groups, true);
    }

    private Tensor[] groupNormBackward(Tensor gy, Tensor x, Tensor mean, Tensor rstd, Tensor gamma, Tensor beta,
                                       boolean withBeta, int groups, boolean silu) {
        bind();
        int[] s = x.shape();
        int n = s[0], c = s[1], sp = spatial(s);
        Typed g = typed(gy), xd = typed(x);
        Tensor mu = dense(mean), rs = dense(rstd);
        Tensor ga = denseOrNull(gamma), be = denseOrNull(beta);
        // Two double accumulators per (sample, channel), in storages of twice as many floats.
        Tensor sumG = empty(2 * n * c), sumGx = empty(2 * n * c);
        kernels.launch("group_norm_channel_sums", n * c, 1, KernelModule.THREADS, 0, g, xd, mu, rs, ga, be, sumG,
                sumGx, c, sp, groups, silu ? 1 : 0);
        Tensor gx = empty(common(gy.dtype(), x.dtype()), s);
        kernels.launch("group_norm_backward_input", n * groups, 1, KernelModule.THREADS, 0, g, xd, mu, rs, ga, be,
                sumG, sumGx, new Typed(gx), c, sp, groups, silu ? 1 : 0);
        Tensor gGamma = gamma == null ? null : empty(c), gBeta = withBeta ? empty(c) : null;
        if (gGamma != null || gBeta != null) {
            kernels.elementwise("group_norm_param_grads", c, sumG, sumGx, rs, gGamma, gBeta, n, c, groups);
        }
        return new Tensor[]{gx, gGamma, gBeta};
    }

    @Override
    public Tensor[] layerNorm(Tensor x, Tensor gamma, Tensor beta, float eps) {
        bind();
        int[] s = x.shape();
        int cols = s[s.length - 1], rows = x.numel() / Math.max(1, cols);
        Tensor y = empty(x.dtype(), s), mean = empty(rows), rstd = empty(rows);
        kernels.launch("layer_norm_forward", rows, 1, KernelModule.THREADS, 0, typed(x), denseOrNull(gamma),
                denseOrNull(beta), new Typed(y), mean, rstd, cols, eps);
        return new Tensor[]{y, mean, rstd};
    }

    @Override
    public Tensor[] layerNormBackward(Tensor gy, Tensor x, Tensor mean, Tensor rstd, Tensor gamma, boolean withBeta) {
        bind();
        int[] s = x.shape();
        int cols = s[s.length - 1], rows = x.numel() / Math.max(1, cols);
        Typed g = typed(gy), xd = typed(x);
        Tensor mu = dense(mean), rs = dense(rstd), ga = denseOrNull(gamma);
        Tensor gx = empty(common(gy.dtype(), x.dtype()), s);
        kernels.launch("layer_norm_backward_input", rows, 1, KernelModule.THREADS, 0, g, xd, mu, rs, ga,
                new Typed(gx), cols);
        Tensor gGamma = gamma == null ? null : empty(cols), gBeta = withBeta ? empty(cols) : null;
        if (gGamma != null || gBeta != null) {
            kernels.elementwise("layer_norm_param_grads", cols, g, xd, mu, rs, gGamma, gBeta, rows, cols);
        }
        return new Tensor[]{gx, gGamma, gBeta};
    }

    @Override
    public Tensor softmax(Tensor x) {
        bind();
        int[] s = x.shape();
        int cols = s.length == 0 ? 1 : s[s.length - 1], rows = x.numel() / Math.max(1, cols);
        Tensor y = empty(s);
        kernels.launch("softmax_forward", rows, 1, KernelModule.THREADS, 0, typed(x), y, cols);
        return y;
    }

    @Override
    public Tensor softmaxBackward(Tensor gy, Tensor y) {
        bind();
        int[] s = y.shape();
        int cols = s.length == 0 ? 1 : s[s.length - 1], rows = y.numel() / Math.max(1, cols);
        Tensor gx = empty(s);
        kernels.launch("softmax_backward", rows, 1, KernelModule.THREADS, 0, typed(gy), dense(y), gx, cols);
        return gx;
    }

    // ------------------------------------------------------------------ attention

    /** Shared-memory floats of the attention kernels; mirrors native/attention.cu. */
    static int attentionSharedFloats(boolean backward, int bq, int bk, int d, int dv) {
        int dp = d | 1, dvp = dv | 1;
        return backward
                ? 2 * bk * dp + 2 * bk * dvp + bq * dp + bq * dvp + 2 * bq * (bk + 1) + 2 * bq
                : bq * dp + bk * dp + bk * dvp + bq * (bk + 1) + bq * dv + 3 * bq;
    }

    /** The largest square tile (64, 32 or 16) whose shared memory fits the device. */
    private int attentionTile(boolean backward, int d, int dv) {
        for (int tile : new int[]{64, 32, 16}) {
            if (4L * attentionSharedFloats(backward, tile, tile, d, dv) <= sharedMemoryOptIn) {
                return tile;
            }
        }
        throw new IllegalArgumentException("attention with head dims d=" + d + ", dv=" + dv + " needs more shared "
                + "memory than this GPU's " + sharedMemoryOptIn + " bytes per block");
    }

    private static void checkAttention(int[] qs, int[] ks, int[] vs) {
        if (qs.length != 3 || ks.length != 3 || vs.length != 3 || qs[0] != ks[0] || ks[0] != vs[0]
                || qs[2] != ks[2] || ks[1] != vs[1]) {
            throw new IllegalArgumentException("attention of q " + Shape.str(qs) + ", k " + Shape.str(ks) + ", v "
                    + Shape.str(vs) + " (expected [B, Nq, D], [B, Nk, D], [B, Nk, Dv])");
        }
    }

    @Override
    public Tensor[] attention(Tensor q, Tensor k, Tensor v, float scale, boolean causal) {
        return attention(q, k, v, scale, causal, WeightDtype.FP32);
    }

    /**
     * Attention in {@code precision}: bf16 and fp16 run the tensor-core kernel ({@link TensorCoreAttention}: q, k, v
     * and the probabilities rounded to that format, scores, softmax and accumulators in float32) for head dims up to
     * 128; FP32, and larger head dims in any precision, run the exact float32 kernel.
     */
    @Override
    public Tensor[] attention(Tensor q, Tensor k, Tensor v, float scale, boolean causal, WeightDtype precision) {
        bind();
        int[] qs = q.shape(), ks = k.shape(), vs = v.shape();
        checkAttention(qs, ks, vs);
        int b = qs[0], nq = qs[1], nk = ks[1], d = qs[2], dv = vs[2];
        Tensor lse = empty(b, nq);
        if (TensorCoreAttention.applies(precision, d, dv, computeCapability, sharedMemoryOptIn)) {
            // 16-bit q, k, v are read as they are; the output is in the activation format when that is precision.
            Tensor out = empty(activationDtype() == precision ? precision : WeightDtype.FP32, b, nq, dv);
            kernels.launch(TensorCoreAttention.kernel(precision), TensorCoreAttention.blocks(nq), b,
                    TensorCoreAttention.THREADS, TensorCoreAttention.sharedBytes(d, dv), typed(q), typed(k), typed(v),
                    new Typed(out), lse, nq, nk, d, dv, scale, causal ? 1 : 0);
            return new Tensor[]{out, lse};
        }
        Tensor out = empty(b, nq, dv);
        int tile = attentionTile(false, d, dv);
        kernels.launch("attention_forward", Math.ceilDiv(nq, tile), b, KernelModule.THREADS,
                4 * attentionSharedFloats(false, tile, tile, d, dv), dense(q), dense(k), dense(v), out, lse, nq, nk,
                d, dv, scale, causal ? 1 : 0, tile, tile);
        return new Tensor[]{out, lse};
    }

    @Override
    public Tensor[] attentionBackward(Tensor gOut, Tensor q, Tensor k, Tensor v, Tensor out, Tensor lse, float scale,
                                      boolean causal) {
        return attentionBackward(gOut, q, k, v, out, lse, scale, causal, WeightDtype.FP32);
    }

    /**
     * Gradients of {@link #attention(Tensor, Tensor, Tensor, float, boolean, WeightDtype)}. After a tensor-core
     * forward they run on tensor cores too ({@link TensorCoreAttention#backwardApplies}: q, k, v and gOut rounded to
     * the 16-bit format, P and dS rounded for their products, everything else float32), or, where that kernel's
     * shared memory does not fit, on the float32 kernel rounding q, k, v and gOut alike, so that either rebuilds
     * the probabilities from the same scores the forward's lse belongs to. Otherwise the exact float32 kernel.
     */
    @Override
    public Tensor[] attentionBackward(Tensor gOut, Tensor q, Tensor k, Tensor v, Tensor out, Tensor lse, float scale,
                                      boolean causal, WeightDtype precision) {
        bind();
        int[] qs = q.shape(), ks = k.shape(), vs = v.shape();
        checkAttention(qs, ks, vs);
        int b = qs[0], nq = qs[1], nk = ks[1], d = qs[2], dv = vs[2];
        Tensor delta = empty(b, nq);
        int rowsPerBlock = KernelModule.THREADS / 32;
        int rounding = TensorCoreAttention.backwardRounding(precision, d, dv, computeCapability, sharedMemoryOptIn);
        kernels.launch("attention_delta", Math.ceilDiv(b * nq, rowsPerBlock), 1, KernelModule.THREADS, 0,
                typed(gOut), typed(out), delta, b * nq, dv, rounding);
        // gq accumulates across key tiles with atomics, so it is float32; the tensor-core kernel writes gk and gv
        // once each, in the activation format when that is the precision.
        Tensor gq = zeros(qs);
        if (TensorCoreAttention.backwardApplies(precision, d, dv, computeCapability, sharedMemoryOptIn)) {
            WeightDtype format = activationDtype() == precision ? precision : WeightDtype.FP32;
            Tensor gk = empty(format, ks), gv = empty(format, vs);
            kernels.launch(TensorCoreAttention.backwardKernel(precision), TensorCoreAttention.backwardBlocks(nk), b,
                    TensorCoreAttention.THREADS, TensorCoreAttention.backwardSharedBytes(d, dv), typed(q), typed(k),
                    typed(v), typed(gOut), dense(lse), delta, gq, new Typed(gk), new Typed(gv), nq, nk, d, dv, scale,
                    causal ? 1 : 0);
            return new Tensor[]{gq, gk, gv};
        }
        Tensor gk = empty(ks), gv = empty(vs);
        int tile = attentionTile(true, d, dv);
        Tensor g = dense(gOut);
        kernels.launch("attention_backward", Math.ceilDiv(nk, tile), b, KernelModule.THREADS,
                4 * attentionSharedFloats(true, tile, tile, d, dv), dense(q), dense(k), dense(v), g, dense(lse),
                delta, gq, gk, gv, nq, nk, d, dv, scale, causal ? 1 : 0, tile, tile, rounding);
        return new Tensor[]{gq, gk, gv};
    }

    // ------------------------------------------------------------------ the rest of the Backend

    @Override
    public Tensor upsampleNearest2x(Tensor x) {
        bind();
        int[] s = x.shape();
        Tensor y = empty(x.dtype(), s[0], s[1], 2 * s[2], 2 * s[3]);
        kernels.elementwise("upsample_nearest2x_forward", y.numel(), typed(x), new Typed(y), s[0] * s[1], s[2], s[3]);
        return y;
    }

    @Override
    public Tensor upsampleNearest2xBackward(Tensor gy) {
        bind();
        int[] s = gy.shape();
        Tensor gx = empty(gy.dtype(), s[0], s[1], s[2] / 2, s[3] / 2);
        kernels.elementwise("upsample_nearest2x_backward", gx.numel(), typed(gy), new Typed(gx), s[0] * s[1],
                s[2] / 2, s[3] / 2);
        return gx;
    }

    @Override
    public Tensor geglu(Tensor x) {
        bind();
        int[] s = x.shape();
        int two = s[s.length - 1], h = two / 2, rows = x.numel() / Math.max(1, two);
        if (two % 2 != 0) {
            throw new IllegalArgumentException("GEGLU needs an even last dimension, got " + Shape.str(s));
        }
        int[] os = s.clone();
        os[os.length - 1] = h;
        Tensor y = empty(x.dtype(), os);
        kernels.elementwise("geglu_forward", y.numel(), typed(x), new Typed(y), rows, h);
        return y;
    }

    @Override
    public Tensor gegluBackward(Tensor gy, Tensor x) {
        bind();
        int[] s = x.shape();
        int two = s[s.length - 1], h = two / 2, rows = x.numel() / Math.max(1, two);
        Tensor gx = empty(common(gy.dtype(), x.dtype()), s);
        kernels.elementwise("geglu_backward", (long) rows * h, typed(gy), typed(x), new Typed(gx), rows, h);
        return gx;
    }

    @Override
    public void addInPlace(Tensor dst, Tensor src, float alpha) {
        bind();
        if (!dst.isContiguous()) {
            throw new IllegalArgumentException("addInPlace into a non-contiguous tensor");
        }
        if (!Arrays.equals(dst.shape(), src.shape())) {
            throw new IllegalArgumentException("addInPlace of shape " + Shape.str(src.shape()) + " into "
                    + Shape.str(dst.shape()));
        }
        if (dst.dtype().isHalf()) {
            // LoRA merging into a 16-bit weight: each sum in float32, rounded once to the weight's format.
            kernels.elementwise(halfKernel("add_in_place", dst.dtype()), dst.numel(), new HalfArg(dst), typed(src),
                    alpha, dst.numel());
            return;
        }
        kernels.elementwise("add_in_place", dst.numel(), dst, typed(src), alpha, dst.numel());
    }

    @Override
    public void adamW(Tensor param, Tensor g, Tensor m, Tensor v, float lr, float beta1, float beta2, float eps,
                      float weightDecay, int step) {
        bind();
        double bc1 = 1 - Math.pow(beta1, step), bc2 = 1 - Math.pow(beta2, step);
        float stepSize = (float) (lr / bc1);
        float sqrtBc2 = (float) Math.sqrt(bc2);
        float decay = 1f - lr * weightDecay;
        kernels.elementwise("adamw_step", param.numel(), param, dense(g), m, v, beta1, beta2, eps, stepSize, sqrtBc2,
                decay, param.numel());
    }

    // ------------------------------------------------------------------ fused LoRA

    /**
     * Whether {@code Linear} layers with one LoRA adapter use the fused kernel (fp32 weights, rank up to
     * {@link #LORA_MAX_RANK}). Off by default until a GPU benchmark ({@code bench kernels}: lora_linear_fused
     * against cuBLAS's three GEMMs) shows it faster; {@code -Dtexforce.cuda.fusedLora=true} or
     * {@link #setFusedLora} turns it on.
     */
    private volatile boolean fusedLora = Boolean.getBoolean("texforce.cuda.fusedLora");

    /** Turns the fused LoRA kernel for {@code Linear} layers on or off (see {@link #fusesLora}). */
    public void setFusedLora(boolean on) {
        fusedLora = on;
    }

    /** Whether the fused LoRA kernel is on (see {@link #setFusedLora}). */
    public boolean fusedLora() {
        return fusedLora;
    }

    /**
     * Whether a Linear with this weight and one adapter of this rank runs the fused kernel: when it is on, for a
     * float32 weight under float32 activations (the kernel reads and writes float32; under 16-bit activations the
     * three GEMMs keep the result in the activation format, as every GEMM does).
     */
    @Override
    public boolean fusesLora(Tensor weight, int rank) {
        return fusedLora && weight.dtype() == WeightDtype.FP32 && activationDtype() == WeightDtype.FP32
                && weight.dim() == 2 && rank >= 1 && rank <= LORA_MAX_RANK;
    }

    /** The largest LoRA rank the fused kernel takes (native/lora.cu). */
    public static final int LORA_MAX_RANK = 64;
    private static final int LORA_TILE = 64;

    /**
     * The fused LoRA linear map y = x W^T + scale * (x A^T) B^T over x [..., K], W [N, K], A [R, K], B [N, R], in one
     * pass over x. Returns {y [..., N], t [M, R]} where t = x A^T (rows of x flattened), which the backward reuses.
     */
    @Override
    public Tensor[] loraLinear(Tensor x, Tensor w, Tensor a, Tensor b, float scale) {
        bind();
        int[] xs = x.shape();
        int k = xs[xs.length - 1], m = x.numel() / Math.max(1, k), n = w.shape()[0], r = a.shape()[0];
        checkLora(k, w, a, b);
        int[] ys = xs.clone();
        ys[ys.length - 1] = n;
        Tensor y = empty(ys), t = empty(m, r);
        kernels.launch("lora_matmul", Math.ceilDiv(n, LORA_TILE), Math.ceilDiv(m, LORA_TILE), KernelModule.THREADS,
                0, dense(x), dense(w), dense(a), dense(b), y, t, m, n, k, r, scale, k, 1, k, 1, r, 1);
        return new Tensor[]{y, t};
    }

    /**
     * Gradients of {@link #lora} for gy [..., N]: {gx, gA, gB}. gx = gy W + scale (gy B) A comes from the fused kernel
     * (which also yields u = gy B); gA = scale u^T x and gB = scale gy^T t are cuBLAS GEMMs.
     */
    @Override
    public Tensor[] loraLinearBackward(Tensor gy, Tensor x, Tensor w, Tensor a, Tensor b, Tensor t, float scale) {
        bind();
        int[] xs = x.shape();
        int k = xs[xs.length - 1], m = x.numel() / Math.max(1, k), n = w.shape()[0], r = a.shape()[0];
        checkLora(k, w, a, b);
        Tensor g = dense(gy), xd = dense(x), td = dense(t);
        Tensor gx = empty(xs), u = empty(m, r);
        // The forward's kernel with the roles swapped: contraction over N, W read as [N, K], B as down, A as up.
        kernels.launch("lora_matmul", Math.ceilDiv(k, LORA_TILE), Math.ceilDiv(m, LORA_TILE), KernelModule.THREADS,
                0, g, dense(w), dense(b), dense(a), gx, u, m, k, n, r, scale, 1, k, 1, r, 1, k);
        Tensor gA = empty(r, k), gB = empty(n, r);
        gemm(true, false, r, k, m, scale, u, r, 0, xd, k, 0, 0f, gA, k, 0, 1);
        gemm(true, false, n, r, m, scale, g, n, 0, td, r, 0, 0f, gB, r, 0, 1);
        return new Tensor[]{gx, gA, gB};
    }

    private static void checkLora(int k, Tensor w, Tensor a, Tensor b) {
        int[] ws = w.shape(), as = a.shape(), bs = b.shape();
        if (ws.length != 2 || as.length != 2 || bs.length != 2 || ws[1] != k || as[1] != k || bs[0] != ws[0]
                || bs[1] != as[0]) {
            throw new IllegalArgumentException("LoRA of x [..., " + k + "] with W " + Shape.str(ws) + ", A "
                    + Shape.str(as) + ", B " + Shape.str(bs) + " (expected W [N, K], A [R, K], B [N, R])");
        }
        if (as[0] > LORA_MAX_RANK) {
            throw new IllegalArgumentException("LoRA rank " + as[0] + " exceeds the fused kernel's maximum "
                    + LORA_MAX_RANK);
        }
    }
}
