package io.texforce.cuda;

import static java.lang.foreign.ValueLayout.ADDRESS;

import io.texforce.tensor.WeightDtype;
import org.bytedeco.cuda.cudnn.cudnnContext;
import org.bytedeco.cuda.cudnn.cudnnConvolutionBwdDataAlgoPerf_t;
import org.bytedeco.cuda.cudnn.cudnnConvolutionBwdFilterAlgoPerf_t;
import org.bytedeco.cuda.cudnn.cudnnConvolutionFwdAlgoPerf_t;
import org.bytedeco.cuda.cudnn.cudnnConvolutionStruct;
import org.bytedeco.cuda.cudnn.cudnnFilterStruct;
import org.bytedeco.cuda.cudnn.cudnnTensorStruct;
import org.bytedeco.cuda.global.cudnn;
import org.bytedeco.javacpp.FloatPointer;
import org.bytedeco.javacpp.Loader;
import org.bytedeco.javacpp.Pointer;
import org.bytedeco.javacpp.SizeTPointer;

import java.lang.foreign.Arena;
import java.lang.foreign.FunctionDescriptor;
import java.lang.foreign.Linker;
import java.lang.foreign.SymbolLookup;
import java.lang.invoke.MethodHandle;
import java.nio.file.Path;
import java.util.Arrays;
import java.util.HashMap;
import java.util.Map;
import java.util.function.IntFunction;
import java.util.function.ToIntFunction;
import java.util.function.ToLongFunction;

/**
 * 2-D convolutions on cuDNN, bound through JavaCPP's CUDA preset ({@code org.bytedeco:cuda}): NCHW tensors,
 * cross-correlation (PyTorch's conv2d), float32 sums, the algorithm cuDNN's heuristics rank first (PyTorch's choice
 * without {@code cudnn.benchmark}; within {@link #MAX_WORKSPACE}). Float32 data runs in strict FP32
 * ({@code CUDNN_FMA_MATH}) unless the backend allows TF32; 16-bit data on tensor cores. One handle per backend, on the default stream of the device's primary
 * context, which the CUDA runtime under cuDNN attaches to, so calls are ordered with our kernels and cuBLAS.
 *
 * <p>The bindings link {@code libcudart.so.13}, {@code libcublas(Lt).so.13} and {@code libcudnn_*.so.9} by name, so
 * they are loaded by path first from where {@link NativeLibraries} finds CUDA (a Python environment's pip wheels
 * included). On the CUDA host emulator they are the emulated cuDNN and its stand-ins from native/emu/build.sh.
 */
final class Cudnn {
    private static final String[][] LIBRARIES = {{"libcudart.so.13", "cuda_runtime"}, {"libcublasLt.so.13", "cublas"},
            {"libcublas.so.13", "cublas"}, {"libcudnn_graph.so.9", "cudnn"}, {"libcudnn_ops.so.9", "cudnn"},
            {"libcudnn_cnn.so.9", "cudnn"}, {"libcudnn_adv.so.9", "cudnn"}};
    private static final String[] EMULATOR_STAND_INS = {"libcuda.so.1", "libcudart.so.13", "libcublasLt.so.13",
            "libcublas.so.13", "libcudnn_graph.so.9", "libcudnn_ops.so.9", "libcudnn_cnn.so.9", "libcudnn_adv.so.9"};

    private final cudnnContext handle = new cudnnContext();
    private final FloatPointer one = new FloatPointer(1f), zero = new FloatPointer(0f);
    private final Map<Key, Conv> plans = new HashMap<>();

    private Cudnn() {
        check(cudnn.cudnnCreate(handle), "cudnnCreate");
    }

    /**
     * Loads cuDNN for {@code driver}'s device and creates a handle (the device's context must be current); throws
     * {@link CudaUnavailableException} naming what is missing.
     */
    static Cudnn open(Driver driver) {
        loadLibraries(driver);
        try {
            Loader.load(cudnn.class);
        } catch (LinkageError e) {
            throw new CudaUnavailableException("cuDNN's JavaCPP bindings (org.bytedeco:cuda) did not load: "
                    + e.getMessage(), e);
        }
        try {
            return new Cudnn();
        } catch (CudaException e) {
            // Loaded but unusable here (a cuDNN built for another CUDA, a GPU it does not support): unavailable.
            throw new CudaUnavailableException("cuDNN loaded but did not start on this device: " + e.getMessage(), e);
        }
    }

    /** cuDNN's version, e.g. "9.19.0". */
    String version() {
        long v = cudnn.cudnnGetVersion();
        return v / 10000 + "." + v % 10000 / 100 + "." + v % 100;
    }

    private static synchronized void loadLibraries(Driver driver) {
        if (driver.emulated()) {
            Path dir = driver.emulatorFile().toAbsolutePath().getParent().resolve("cudnn");
            Path emulation = dir.resolve("libtexforce-cudnn-emu.so");
            try {
                SymbolLookup cudnnEmu = SymbolLookup.libraryLookup(emulation, Arena.global());
                bindEmulator(cudnnEmu, driver.library());
                for (String name : EMULATOR_STAND_INS) {
                    if (name.equals("libcuda.so.1") && hasDriver()) {
                        continue;  // a real driver serves the bindings' link; the stand-in would shadow it
                    }
                    SymbolLookup.libraryLookup(dir.resolve(name), Arena.global());
                }
            } catch (IllegalArgumentException e) {
                throw new CudaUnavailableException("the emulated cuDNN under " + dir + " did not load ("
                        + e.getMessage() + "); native/emu/build.sh builds it beside the emulator", e);
            }
            return;
        }
        for (String[] lib : LIBRARIES) {
            NativeLibraries.open(lib[0], lib[1]);
        }
    }

    /** Whether NVIDIA's driver library is on this machine (then the emulator's cuDNN needs no stand-in for it). */
    private static boolean hasDriver() {
        try {
            return SymbolLookup.libraryLookup("libcuda.so.1", Arena.global()).find("cuDeviceGet").isPresent();
        } catch (IllegalArgumentException e) {
            return false;
        }
    }

    /** Hands the emulated cuDNN the memory checks of the emulator whose device memory it reads. */
    private static void bindEmulator(SymbolLookup cudnnEmu, SymbolLookup emulator) {
        Linker linker = Linker.nativeLinker();
        MethodHandle bind = linker.downcallHandle(Driver.symbol(cudnnEmu, "tfemu_cudnn_bind"),
                FunctionDescriptor.ofVoid(ADDRESS, ADDRESS));
        try {
            bind.invoke(Driver.symbol(emulator, "tfemu_memory_check"), Driver.symbol(emulator, "tfemu_flush_copies"));
        } catch (Throwable t) {
            throw new IllegalStateException("tfemu_cudnn_bind failed", t);
        }
    }

    private static void check(int status, String call) {
        if (status != cudnn.CUDNN_STATUS_SUCCESS) {
            throw new CudaException(call + " failed with " + cudnn.cudnnGetErrorString(status).getString()
                    + " (" + status + ")");
        }
    }

    private static int dataType(WeightDtype format) {
        return switch (format) {
            case FP32 -> cudnn.CUDNN_DATA_FLOAT;
            case BF16 -> cudnn.CUDNN_DATA_BFLOAT16;
            case FP16 -> cudnn.CUDNN_DATA_HALF;
        };
    }

    private record Key(int[] xs, int[] ws, int stride, int padding, WeightDtype format, boolean tf32) {
        @Override
        public boolean equals(Object o) {
            return o instanceof Key k && Arrays.equals(xs, k.xs) && Arrays.equals(ws, k.ws) && stride == k.stride
                    && padding == k.padding && format == k.format && tf32 == k.tf32;
        }

        @Override
        public int hashCode() {
            return 31 * (31 * Arrays.hashCode(xs) + Arrays.hashCode(ws)) + 7 * stride + padding
                    + 131 * format.hashCode() + (tf32 ? 1 : 0);
        }
    }

    /**
     * The convolution of x [n, c, h, w] with a filter [k, c, kh, kw] at {@code stride} and {@code padding}, all in
     * {@code format}; {@code tf32} lets float32 data run on TF32 tensor cores. Plans are kept per shape.
     */
    synchronized Conv conv(int[] xs, int[] ws, int stride, int padding, WeightDtype format, boolean tf32) {
        return plans.computeIfAbsent(new Key(xs.clone(), ws.clone(), stride, padding, format, tf32), Conv::new);
    }

    /** The candidates of an algorithm search, read out of the bindings' array of perf structs (one type each). */
    private record Candidates(int[] algos, int[] status, int[] maths, long[] workspace) {
        static <P> Candidates read(int count, IntFunction<P> at, ToIntFunction<P> algo, ToIntFunction<P> status,
                                   ToIntFunction<P> math, ToLongFunction<P> memory) {
            Candidates c = new Candidates(new int[count], new int[count], new int[count], new long[count]);
            for (int i = 0; i < count; i++) {
                P p = at.apply(i);
                c.algos[i] = algo.applyAsInt(p);
                c.status[i] = status.applyAsInt(p);
                c.maths[i] = math.applyAsInt(p);
                c.workspace[i] = memory.applyAsLong(p);
            }
            return c;
        }

        /** Whether candidate i ran in the heuristics and needs a workspace we are willing to give. */
        boolean usable(int i) {
            return status[i] == cudnn.CUDNN_STATUS_SUCCESS && workspace[i] <= MAX_WORKSPACE;
        }
    }

    /**
     * The largest workspace a convolution may ask for: candidates that want more (some FFT algorithms ask for
     * gigabytes) are passed over for the next, as memory held by one convolution is memory the U-Net's activations
     * lack.
     */
    static final long MAX_WORKSPACE = 1L << 30;

    /** A device address as the bindings take one. */
    private static final class Device extends Pointer {
        Device(long address) {
            this.address = address;
        }
    }

    /** One convolution's descriptors and, once asked for, the algorithm and workspace of each direction. */
    final class Conv {
        private final cudnnTensorStruct x = new cudnnTensorStruct(), y = new cudnnTensorStruct();
        private final cudnnFilterStruct w = new cudnnFilterStruct();
        private final int math;
        private final Key key;
        private Choice forward, backwardData, backwardFilter;

        private record Choice(cudnnConvolutionStruct conv, int algo, long workspace) {
        }

        private Conv(Key key) {
            this.key = key;
            int[] xs = key.xs, ws = key.ws;
            int oh = (xs[2] + 2 * key.padding - ws[2]) / key.stride + 1;
            int ow = (xs[3] + 2 * key.padding - ws[3]) / key.stride + 1;
            int type = dataType(key.format);
            check(cudnn.cudnnCreateTensorDescriptor(x), "cudnnCreateTensorDescriptor");
            check(cudnn.cudnnSetTensor4dDescriptor(x, cudnn.CUDNN_TENSOR_NCHW, type, xs[0], xs[1], xs[2], xs[3]),
                    "cudnnSetTensor4dDescriptor(x " + Arrays.toString(xs) + ")");
            check(cudnn.cudnnCreateTensorDescriptor(y), "cudnnCreateTensorDescriptor");
            check(cudnn.cudnnSetTensor4dDescriptor(y, cudnn.CUDNN_TENSOR_NCHW, type, xs[0], ws[0], oh, ow),
                    "cudnnSetTensor4dDescriptor(y)");
            check(cudnn.cudnnCreateFilterDescriptor(w), "cudnnCreateFilterDescriptor");
            check(cudnn.cudnnSetFilter4dDescriptor(w, type, cudnn.CUDNN_TENSOR_NCHW, ws[0], ws[1], ws[2], ws[3]),
                    "cudnnSetFilter4dDescriptor(w " + Arrays.toString(ws) + ")");
            // Strict float32 unless TF32 is allowed: cuDNN's default math lets float32 run on TF32 on sm_80+.
            math = key.format.isHalf() ? cudnn.CUDNN_TENSOR_OP_MATH
                    : key.tf32 ? cudnn.CUDNN_DEFAULT_MATH : cudnn.CUDNN_FMA_MATH;
        }

        private cudnnConvolutionStruct descriptor() {
            cudnnConvolutionStruct conv = new cudnnConvolutionStruct();
            check(cudnn.cudnnCreateConvolutionDescriptor(conv), "cudnnCreateConvolutionDescriptor");
            check(cudnn.cudnnSetConvolution2dDescriptor(conv, key.padding, key.padding, key.stride, key.stride, 1, 1,
                    cudnn.CUDNN_CROSS_CORRELATION, cudnn.CUDNN_DATA_FLOAT), "cudnnSetConvolution2dDescriptor");
            check(cudnn.cudnnSetConvolutionMathType(conv, math), "cudnnSetConvolutionMathType");
            return conv;
        }

        /**
         * The first of the heuristics' candidates that succeeds, preferring, for strict float32, those in FMA math
         * (TF32 ones excluded); the descriptor then takes the candidate's math type, as cuDNN asks.
         */
        private Choice choose(cudnnConvolutionStruct conv, Candidates found, String call) {
            for (int i = 0; i < found.algos.length; i++) {
                if (found.usable(i) && (math != cudnn.CUDNN_FMA_MATH || found.maths[i] == cudnn.CUDNN_FMA_MATH)) {
                    check(cudnn.cudnnSetConvolutionMathType(conv, found.maths[i]), "cudnnSetConvolutionMathType");
                    return new Choice(conv, found.algos[i], -1);
                }
            }
            for (int i = 0; i < found.algos.length; i++) {
                if (found.usable(i)) {
                    return new Choice(conv, found.algos[i], -1);  // the descriptor keeps FMA math
                }
            }
            throw new CudaException(call + " offers no algorithm for x " + Arrays.toString(key.xs) + ", w "
                    + Arrays.toString(key.ws) + ", stride " + key.stride + ", padding " + key.padding + " in "
                    + key.format);
        }

        /** One direction's algorithm search: fills {@code returned[0]} and returns the candidates. */
        private interface Search {
            Candidates run(cudnnConvolutionStruct conv, int[] returned);
        }

        /** One direction's workspace query for an algorithm: a cuDNN status. */
        private interface WorkspaceSize {
            int run(cudnnConvolutionStruct conv, int algo, SizeTPointer bytes);
        }

        /** Searches with a fresh descriptor, takes the first fitting candidate and asks its workspace size. */
        private Choice select(String searchCall, Search search, String sizeCall, WorkspaceSize size) {
            cudnnConvolutionStruct conv = descriptor();
            int[] returned = new int[1];
            Choice c = choose(conv, search.run(conv, returned), searchCall);
            SizeTPointer bytes = new SizeTPointer(1);
            check(size.run(conv, c.algo, bytes), sizeCall);
            return new Choice(conv, c.algo, bytes.get());
        }

        /** Workspace bytes of the forward pass (its algorithm chosen on first use). */
        synchronized long forwardWorkspace() {
            if (forward == null) {
                String call = "cudnnGetConvolutionForwardAlgorithm_v7";
                forward = select(call, (conv, returned) -> {
                    int n = cudnn.CUDNN_CONVOLUTION_FWD_ALGO_COUNT;
                    var perf = new cudnnConvolutionFwdAlgoPerf_t(n);
                    check(cudnn.cudnnGetConvolutionForwardAlgorithm_v7(handle, x, w, conv, y, n, returned, perf), call);
                    return Candidates.read(returned[0], i -> new cudnnConvolutionFwdAlgoPerf_t(perf).position(i),
                            cudnnConvolutionFwdAlgoPerf_t::algo, cudnnConvolutionFwdAlgoPerf_t::status,
                            cudnnConvolutionFwdAlgoPerf_t::mathType, cudnnConvolutionFwdAlgoPerf_t::memory);
                }, "cudnnGetConvolutionForwardWorkspaceSize",
                        (conv, algo, bytes) -> cudnn.cudnnGetConvolutionForwardWorkspaceSize(handle, x, w, conv, y,
                                algo, bytes));
            }
            return forward.workspace;
        }

        /** Workspace bytes of the input gradient (its algorithm chosen on first use). */
        synchronized long backwardDataWorkspace() {
            if (backwardData == null) {
                String call = "cudnnGetConvolutionBackwardDataAlgorithm_v7";
                backwardData = select(call, (conv, returned) -> {
                    int n = cudnn.CUDNN_CONVOLUTION_BWD_DATA_ALGO_COUNT;
                    var perf = new cudnnConvolutionBwdDataAlgoPerf_t(n);
                    check(cudnn.cudnnGetConvolutionBackwardDataAlgorithm_v7(handle, w, y, conv, x, n, returned, perf),
                            call);
                    return Candidates.read(returned[0], i -> new cudnnConvolutionBwdDataAlgoPerf_t(perf).position(i),
                            cudnnConvolutionBwdDataAlgoPerf_t::algo, cudnnConvolutionBwdDataAlgoPerf_t::status,
                            cudnnConvolutionBwdDataAlgoPerf_t::mathType, cudnnConvolutionBwdDataAlgoPerf_t::memory);
                }, "cudnnGetConvolutionBackwardDataWorkspaceSize",
                        (conv, algo, bytes) -> cudnn.cudnnGetConvolutionBackwardDataWorkspaceSize(handle, w, y, conv,
                                x, algo, bytes));
            }
            return backwardData.workspace;
        }

        /** Workspace bytes of the filter gradient (its algorithm chosen on first use). */
        synchronized long backwardFilterWorkspace() {
            if (backwardFilter == null) {
                String call = "cudnnGetConvolutionBackwardFilterAlgorithm_v7";
                backwardFilter = select(call, (conv, returned) -> {
                    int n = cudnn.CUDNN_CONVOLUTION_BWD_FILTER_ALGO_COUNT;
                    var perf = new cudnnConvolutionBwdFilterAlgoPerf_t(n);
                    check(cudnn.cudnnGetConvolutionBackwardFilterAlgorithm_v7(handle, x, y, conv, w, n, returned,
                            perf), call);
                    return Candidates.read(returned[0], i -> new cudnnConvolutionBwdFilterAlgoPerf_t(perf).position(i),
                            cudnnConvolutionBwdFilterAlgoPerf_t::algo, cudnnConvolutionBwdFilterAlgoPerf_t::status,
                            cudnnConvolutionBwdFilterAlgoPerf_t::mathType, cudnnConvolutionBwdFilterAlgoPerf_t::memory);
                }, "cudnnGetConvolutionBackwardFilterWorkspaceSize",
                        (conv, algo, bytes) -> cudnn.cudnnGetConvolutionBackwardFilterWorkspaceSize(handle, x, y,
                                conv, w, algo, bytes));
            }
            return backwardFilter.workspace;
        }

        /** y = conv(x, w) at device addresses, with a workspace of {@link #forwardWorkspace} bytes. */
        void forward(long xData, long wData, long yData, long workspace) {
            long bytes = forwardWorkspace();
            synchronized (Cudnn.this) {
                check(cudnn.cudnnConvolutionForward(handle, one, x, new Device(xData), w, new Device(wData),
                        forward.conv, forward.algo, new Device(workspace), bytes, zero, y, new Device(yData)),
                        "cudnnConvolutionForward");
            }
        }

        /** dx = the input gradient of conv for dy, with a workspace of {@link #backwardDataWorkspace} bytes. */
        void backwardData(long wData, long dyData, long dxData, long workspace) {
            long bytes = backwardDataWorkspace();
            synchronized (Cudnn.this) {
                check(cudnn.cudnnConvolutionBackwardData(handle, one, w, new Device(wData), y, new Device(dyData),
                        backwardData.conv, backwardData.algo, new Device(workspace), bytes, zero, x,
                        new Device(dxData)), "cudnnConvolutionBackwardData");
            }
        }

        /** dw = the filter gradient of conv for dy, with a workspace of {@link #backwardFilterWorkspace} bytes. */
        void backwardFilter(long xData, long dyData, long dwData, long workspace) {
            long bytes = backwardFilterWorkspace();
            synchronized (Cudnn.this) {
                check(cudnn.cudnnConvolutionBackwardFilter(handle, one, x, new Device(xData), y, new Device(dyData),
                        backwardFilter.conv, backwardFilter.algo, new Device(workspace), bytes, zero, w,
                        new Device(dwData)), "cudnnConvolutionBackwardFilter");
            }
        }
    }
}
