package io.texforce.cuda;

import io.texforce.tensor.Shape;
import io.texforce.tensor.Tensor;

import java.io.IOException;
import java.io.InputStream;
import java.lang.foreign.Arena;
import java.lang.foreign.MemorySegment;
import java.lang.foreign.SegmentAllocator;
import java.lang.foreign.ValueLayout;
import java.lang.ref.Reference;
import java.util.HashMap;
import java.util.Map;
import java.util.concurrent.ConcurrentHashMap;
import java.util.concurrent.atomic.LongAdder;

/**
 * The kernels of native/, loaded from the fat binary that native/build.sh packs into this jar (SASS for sm_80 and
 * sm_90, PTX for newer GPUs, which the driver compiles at load time). Launches marshal their arguments into the
 * driver's parameter array: each slot holds the address of the argument's value, never the value itself.
 *
 * <p>Argument types: a float32 {@link Tensor} or a {@link CudaStorage} passes its device address (a tensor's at its
 * offset), a {@link HalfArg} the address of a 16-bit tensor, a {@link Typed} the address and element format of a
 * tensor of any format (native/typed.cuh's struct, by value), {@code null} a null pointer, {@link Integer} and
 * {@link Float} 32-bit values, {@link Long} a 64-bit value and an {@link Indexer} its struct by value. A 16-bit
 * tensor passed as a plain {@link Tensor} is an error: float32 kernels would read its bits as floats. Tensors and
 * storages stay reachable until the launch is enqueued; the stream orders any later reuse of their memory after the
 * kernel.
 */
final class KernelModule {
    static final String RESOURCE = "texforce-kernels.fatbin";
    static final int THREADS = 256;

    /** A 16-bit tensor argument, for the kernels that read or write its elements (the *_bf16 and *_fp16 ones). */
    record HalfArg(Tensor tensor) {
        HalfArg {
            if (!tensor.dtype().isHalf()) {
                throw new IllegalArgumentException("a " + tensor.dtype().cliName() + " tensor of shape "
                        + Shape.str(tensor.shape()) + " passed where a 16-bit one is expected");
            }
        }
    }

    /**
     * A tensor of any element format for a kernel parameter of type {@code Typed} (native/typed.cuh): its address
     * and its {@link io.texforce.tensor.WeightDtype} ordinal, which the kernel reads and writes it through;
     * {@code null} tensor: a null pointer.
     */
    record Typed(Tensor tensor) {
        /** Bytes of the struct: a 64-bit address, a 32-bit format code and padding to 8-byte alignment. */
        static final int BYTES = 16;

        void writeTo(MemorySegment s) {
            s.set(ValueLayout.JAVA_LONG, 0, tensor == null ? 0L : CudaBackend.address(tensor));
            s.set(ValueLayout.JAVA_INT, 8, tensor == null ? 0 : tensor.dtype().ordinal());
            s.set(ValueLayout.JAVA_INT, 12, 0);
        }
    }

    /** Room for a launch's argument slots and values: far more than the longest kernel signature needs. */
    private static final long LAUNCH_BUFFER_BYTES = 16 * 1024;
    private static final ThreadLocal<MemorySegment> LAUNCH_BUFFER =
            ThreadLocal.withInitial(() -> Arena.ofAuto().allocate(LAUNCH_BUFFER_BYTES, 16));

    private final Driver driver;
    private final MemorySegment module;
    /** A kernel looked up in the module, and how many times it has been launched. */
    private record Function(MemorySegment handle, LongAdder launches) {
    }

    private final Map<String, Function> functions = new ConcurrentHashMap<>();
    private final Map<String, Integer> sharedLimits = new HashMap<>();
    private final int maxBlocks;

    KernelModule(Driver driver, int multiprocessors) {
        this.driver = driver;
        this.maxBlocks = Math.max(1, multiprocessors) * 32;
        // The host emulator has the kernels compiled in and ignores the image; a jar built without nvcc has none.
        byte[] image = driver.emulated() && !packaged() ? new byte[]{0} : readImage();
        try (Arena a = Arena.ofConfined()) {
            MemorySegment seg = a.allocate(image.length + 1L, 16);
            MemorySegment.copy(image, 0, seg, ValueLayout.JAVA_BYTE, 0, image.length);
            module = driver.loadModule(seg, RESOURCE);
        }
    }

    /** Whether this jar carries the kernels (it does when it was built on a machine with nvcc). */
    static boolean packaged() {
        return KernelModule.class.getResource(RESOURCE) != null;
    }

    private static byte[] readImage() {
        try (InputStream in = KernelModule.class.getResourceAsStream(RESOURCE)) {
            if (in == null) {
                throw new CudaUnavailableException("this texforce-cuda jar has no kernels (resource io/texforce/cuda/"
                        + RESOURCE + "): build it on a machine with nvcc (/usr/local/cuda/bin/nvcc), which runs "
                        + "native/build.sh");
            }
            return in.readAllBytes();
        } catch (IOException e) {
            throw new CudaException("cannot read the kernel resource " + RESOURCE, e);
        }
    }

    private Function function(String name) {
        return functions.computeIfAbsent(name, n -> new Function(driver.function(module, n), new LongAdder()));
    }

    /** Grid size for a grid-stride loop over n elements. */
    int blocksFor(long n) {
        return (int) Math.max(1, Math.min(maxBlocks, (n + THREADS - 1) / THREADS));
    }

    /** An elementwise kernel over n elements with a grid-stride loop; nothing is launched when n is 0. */
    void elementwise(String name, long n, Object... args) {
        if (n > 0) {
            launch(name, blocksFor(n), 1, THREADS, 0, args);
        }
    }

    /** Launches {@code name} on a gridX x gridY grid of {@code threads}-thread blocks. */
    void launch(String name, int gridX, int gridY, int threads, int sharedBytes, Object... args) {
        if (gridX == 0 || gridY == 0) {
            return;
        }
        Function f = function(name);
        f.launches().increment();
        MemorySegment fn = f.handle();
        if (sharedBytes > 48 * 1024) {
            allowShared(name, fn, sharedBytes);
        }
        // The driver copies the arguments when the launch is enqueued, so one buffer per thread serves every launch
        // (no allocation per launch).
        SegmentAllocator a = SegmentAllocator.slicingAllocator(LAUNCH_BUFFER.get());
        try {
            MemorySegment params = a.allocate(ValueLayout.ADDRESS, args.length);
            for (int i = 0; i < args.length; i++) {
                params.setAtIndex(ValueLayout.ADDRESS, i, slot(a, args[i], name, i));
            }
            driver.launch(fn, gridX, gridY, 1, threads, sharedBytes, params, name);
        } finally {
            Reference.reachabilityFence(args);
        }
    }

    /** How many times {@code name} has been launched (which kernels a model actually runs). */
    long launches(String name) {
        Function f = functions.get(name);
        return f == null ? 0 : f.launches().sum();
    }

    /** Dynamic shared memory above 48 KiB must be opted into per function. */
    private synchronized void allowShared(String name, MemorySegment fn, int bytes) {
        Integer current = sharedLimits.get(name);
        if (current == null || current < bytes) {
            driver.setFunctionAttribute(fn, Driver.FUNC_ATTR_MAX_DYNAMIC_SHARED_SIZE_BYTES, bytes, name);
            sharedLimits.put(name, bytes);
        }
    }

    static MemorySegment slot(SegmentAllocator a, Object arg, String kernel, int index) {
        return switch (arg) {
            case null -> a.allocateFrom(ValueLayout.JAVA_LONG, 0L);
            case Tensor t when t.dtype().isHalf() -> throw new IllegalArgumentException("argument " + index
                    + " of kernel " + kernel + " is a " + t.dtype().cliName() + " tensor of shape "
                    + Shape.str(t.shape()) + "; float32 kernels take 16-bit weights only widened (CudaBackend.dense)");
            case Tensor t -> a.allocateFrom(ValueLayout.JAVA_LONG, CudaBackend.address(t));
            case HalfArg h -> a.allocateFrom(ValueLayout.JAVA_LONG, CudaBackend.address(h.tensor()));
            case Typed t -> {
                MemorySegment s = a.allocate(Typed.BYTES, 8);
                t.writeTo(s);
                yield s;
            }
            case CudaStorage s -> a.allocateFrom(ValueLayout.JAVA_LONG, s.pointer());
            case Integer v -> a.allocateFrom(ValueLayout.JAVA_INT, v);
            case Float v -> a.allocateFrom(ValueLayout.JAVA_FLOAT, v);
            case Long v -> a.allocateFrom(ValueLayout.JAVA_LONG, v);
            case Indexer ix -> {
                MemorySegment s = a.allocate(Indexer.BYTES, 4);
                ix.writeTo(s);
                yield s;
            }
            default -> throw new IllegalArgumentException("argument " + index + " of kernel " + kernel
                    + " has unsupported type " + arg.getClass().getName());
        };
    }
}
