package io.texforce.cuda;

import static java.lang.foreign.ValueLayout.ADDRESS;
import static java.lang.foreign.ValueLayout.JAVA_INT;
import static java.lang.foreign.ValueLayout.JAVA_LONG;

import java.lang.foreign.Arena;
import java.lang.foreign.FunctionDescriptor;
import java.lang.foreign.Linker;
import java.lang.foreign.MemorySegment;
import java.lang.foreign.SymbolLookup;
import java.lang.invoke.MethodHandle;
import java.nio.file.Files;
import java.nio.file.Path;

/**
 * The CUDA driver API calls the backend uses, bound to {@code libcuda.so.1} through the foreign function
 * interface. Device pointers are {@code long}s; contexts, modules and functions are opaque addresses. Every call
 * checks its result and throws a {@link CudaException} naming the call and the driver's error name.
 */
final class Driver {
    static final int OUT_OF_MEMORY = 2;
    static final int ATTR_MULTIPROCESSOR_COUNT = 16;
    static final int ATTR_COMPUTE_CAPABILITY_MAJOR = 75;
    static final int ATTR_COMPUTE_CAPABILITY_MINOR = 76;
    static final int ATTR_MAX_SHARED_MEMORY_PER_BLOCK_OPTIN = 97;
    static final int FUNC_ATTR_MAX_DYNAMIC_SHARED_SIZE_BYTES = 8;
    private static final int EVENT_DISABLE_TIMING = 2;

    private static final Linker LINKER = Linker.nativeLinker();

    private final SymbolLookup library;
    /** The emulator's library file (its folder holds the emulated cuDNN), or null for NVIDIA's driver. */
    private Path emulatorFile;
    private final MethodHandle emulatorConfigure;
    private final MethodHandle cuInit, cuDriverGetVersion, cuDeviceGetCount, cuDeviceGet, cuDeviceGetName,
            cuDeviceGetAttribute, cuDevicePrimaryCtxRetain, cuCtxSetCurrent, cuCtxSynchronize, cuMemAlloc, cuMemFree,
            cuMemGetInfo, cuMemHostAlloc, cuMemcpyHtoD, cuMemcpyHtoDAsync, cuEventCreate, cuEventRecord,
            cuEventSynchronize,
            cuMemcpyDtoH, cuMemcpyDtoD, cuMemsetD32, cuModuleLoadData,
            cuModuleGetFunction, cuFuncSetAttribute, cuLaunchKernel, cuGetErrorName;

    private Driver(SymbolLookup lib) {
        library = lib;
        emulatorConfigure = lib.find("tfemu_configure")
                .map(f -> LINKER.downcallHandle(f, FunctionDescriptor.of(JAVA_INT, JAVA_INT, JAVA_INT, JAVA_INT)))
                .orElse(null);
        cuInit = bind(lib, "cuInit", JAVA_INT);
        cuDriverGetVersion = bind(lib, "cuDriverGetVersion", ADDRESS);
        cuDeviceGetCount = bind(lib, "cuDeviceGetCount", ADDRESS);
        cuDeviceGet = bind(lib, "cuDeviceGet", ADDRESS, JAVA_INT);
        cuDeviceGetName = bind(lib, "cuDeviceGetName", ADDRESS, JAVA_INT, JAVA_INT);
        cuDeviceGetAttribute = bind(lib, "cuDeviceGetAttribute", ADDRESS, JAVA_INT, JAVA_INT);
        cuDevicePrimaryCtxRetain = bind(lib, "cuDevicePrimaryCtxRetain", ADDRESS, JAVA_INT);
        cuCtxSetCurrent = bind(lib, "cuCtxSetCurrent", ADDRESS);
        cuCtxSynchronize = bind(lib, "cuCtxSynchronize");
        cuMemAlloc = bind(lib, "cuMemAlloc_v2", ADDRESS, JAVA_LONG);
        cuMemFree = bind(lib, "cuMemFree_v2", JAVA_LONG);
        cuMemGetInfo = bind(lib, "cuMemGetInfo_v2", ADDRESS, ADDRESS);
        cuMemHostAlloc = bind(lib, "cuMemHostAlloc", ADDRESS, JAVA_LONG, JAVA_INT);
        cuMemcpyHtoDAsync = bind(lib, "cuMemcpyHtoDAsync_v2", JAVA_LONG, ADDRESS, JAVA_LONG, ADDRESS);
        cuEventCreate = bind(lib, "cuEventCreate", ADDRESS, JAVA_INT);
        cuEventRecord = bind(lib, "cuEventRecord", ADDRESS, ADDRESS);
        cuEventSynchronize = bind(lib, "cuEventSynchronize", ADDRESS);
        // Synchronous copies read and write Java arrays in place: critical calls may take heap segments.
        cuMemcpyHtoD = bindCritical(lib, "cuMemcpyHtoD_v2", JAVA_LONG, ADDRESS, JAVA_LONG);
        cuMemcpyDtoH = bindCritical(lib, "cuMemcpyDtoH_v2", ADDRESS, JAVA_LONG, JAVA_LONG);
        cuMemcpyDtoD = bind(lib, "cuMemcpyDtoD_v2", JAVA_LONG, JAVA_LONG, JAVA_LONG);
        cuMemsetD32 = bind(lib, "cuMemsetD32_v2", JAVA_LONG, JAVA_INT, JAVA_LONG);
        cuModuleLoadData = bind(lib, "cuModuleLoadData", ADDRESS, ADDRESS);
        cuModuleGetFunction = bind(lib, "cuModuleGetFunction", ADDRESS, ADDRESS, ADDRESS);
        cuFuncSetAttribute = bind(lib, "cuFuncSetAttribute", ADDRESS, JAVA_INT, JAVA_INT);
        cuLaunchKernel = bind(lib, "cuLaunchKernel", ADDRESS, JAVA_INT, JAVA_INT, JAVA_INT, JAVA_INT, JAVA_INT,
                JAVA_INT, JAVA_INT, ADDRESS, ADDRESS, ADDRESS);
        cuGetErrorName = bind(lib, "cuGetErrorName", JAVA_INT, ADDRESS);
    }

    /** Loads the driver and initialises it; throws {@link CudaUnavailableException} without a driver or a GPU. */
    static Driver load() {
        SymbolLookup lib;
        try {
            lib = SymbolLookup.libraryLookup("libcuda.so.1", Arena.global());
        } catch (IllegalArgumentException e) {
            throw new CudaUnavailableException("no CUDA driver/GPU found: libcuda.so.1 is not on this machine ("
                    + e.getMessage() + ")", e);
        }
        if (lib.find("cuDeviceGet").isEmpty()) {
            // The emulated cuDNN's stand-in libcuda.so.1 (native/emu/build.sh), once loaded, answers to that name.
            throw new CudaUnavailableException("no CUDA driver/GPU found: the libcuda.so.1 loaded in this process is "
                    + "not NVIDIA's driver (it lacks cuDeviceGet)");
        }
        return init(new Driver(lib));
    }

    /**
     * Loads the CUDA host emulator built by native/emu/build.sh, which serves both the driver API and the cuBLAS
     * calls from one library and runs the kernels of native/ on the CPU.
     */
    static Driver loadEmulator(Path library) {
        if (!Files.isRegularFile(library)) {
            throw new CudaUnavailableException("the CUDA host emulator " + library + " does not exist; build it with "
                    + "native/emu/build.sh " + (library.getParent() == null ? "." : library.getParent()));
        }
        SymbolLookup lib;
        try {
            lib = SymbolLookup.libraryLookup(library, Arena.global());
        } catch (IllegalArgumentException e) {
            throw new CudaUnavailableException("cannot load the CUDA host emulator " + library + ": "
                    + e.getMessage(), e);
        }
        Driver d = new Driver(lib);
        if (!d.emulated()) {
            throw new CudaUnavailableException(library + " is not the CUDA host emulator (it lacks tfemu_configure)");
        }
        d.emulatorFile = library;
        return init(d);
    }

    private static Driver init(Driver d) {
        int rc = d.call(d.cuInit, 0);
        if (rc != 0) {
            throw new CudaUnavailableException("no CUDA driver/GPU found: cuInit failed with " + d.errorName(rc));
        }
        if (d.deviceCount() == 0) {
            throw new CudaUnavailableException("no CUDA driver/GPU found: the driver reports no device");
        }
        return d;
    }

    /** Whether this is the CUDA host emulator rather than NVIDIA's driver. */
    boolean emulated() {
        return emulatorConfigure != null;
    }

    /** The emulator's library file, or null on NVIDIA's driver. */
    Path emulatorFile() {
        return emulatorFile;
    }

    /** The library the driver calls were bound from (the emulator serves cuBLAS from it too). */
    SymbolLookup library() {
        return library;
    }

    /**
     * Emulator only: {@code reverse} runs each block's threads in reverse order between barriers (a kernel whose
     * result changes with the order is missing a barrier); {@code hostThreads} > 0 fixes how many host threads run
     * blocks (0: TFEMU_THREADS or the core count); {@code computeCapability} > 0 sets the GPU generation the
     * device reports (e.g. 75 for a T4; 0 keeps it, 90 by default), read by a backend when it is created.
     */
    void configureEmulator(boolean reverse, int hostThreads, int computeCapability) {
        if (emulatorConfigure == null) {
            throw new IllegalStateException("configureEmulator called on NVIDIA's driver");
        }
        check(call(emulatorConfigure, reverse ? 1 : 0, hostThreads, computeCapability), "tfemu_configure");
    }

    // ------------------------------------------------------------------ device and context

    int driverVersion() {
        try (Arena a = Arena.ofConfined()) {
            MemorySegment v = a.allocate(JAVA_INT);
            check(call(cuDriverGetVersion, v), "cuDriverGetVersion");
            return v.get(JAVA_INT, 0);
        }
    }

    int deviceCount() {
        try (Arena a = Arena.ofConfined()) {
            MemorySegment v = a.allocate(JAVA_INT);
            check(call(cuDeviceGetCount, v), "cuDeviceGetCount");
            return v.get(JAVA_INT, 0);
        }
    }

    int device(int ordinal) {
        try (Arena a = Arena.ofConfined()) {
            MemorySegment v = a.allocate(JAVA_INT);
            check(call(cuDeviceGet, v, ordinal), "cuDeviceGet(" + ordinal + ")");
            return v.get(JAVA_INT, 0);
        }
    }

    String deviceName(int device) {
        try (Arena a = Arena.ofConfined()) {
            MemorySegment v = a.allocate(256);
            check(call(cuDeviceGetName, v, 256, device), "cuDeviceGetName");
            return v.getString(0);
        }
    }

    int attribute(int device, int attribute) {
        try (Arena a = Arena.ofConfined()) {
            MemorySegment v = a.allocate(JAVA_INT);
            check(call(cuDeviceGetAttribute, v, attribute, device), "cuDeviceGetAttribute(" + attribute + ")");
            return v.get(JAVA_INT, 0);
        }
    }

    /** The device's primary context: the one cuBLAS and the CUDA runtime use, so all three share memory. */
    MemorySegment primaryContext(int device) {
        try (Arena a = Arena.ofConfined()) {
            MemorySegment v = a.allocate(ADDRESS);
            check(call(cuDevicePrimaryCtxRetain, v, device), "cuDevicePrimaryCtxRetain");
            return v.get(ADDRESS, 0);
        }
    }

    void setCurrent(MemorySegment context) {
        check(call(cuCtxSetCurrent, context), "cuCtxSetCurrent");
    }

    void synchronize() {
        check(call(cuCtxSynchronize), "cuCtxSynchronize (a kernel launched earlier failed)");
    }

    // ------------------------------------------------------------------ memory

    /** cuMemAlloc's result code, with the pointer in {@code out[0]} on success (callers handle out-of-memory). */
    int tryAlloc(long bytes, long[] out) {
        try (Arena a = Arena.ofConfined()) {
            MemorySegment v = a.allocate(JAVA_LONG);
            int rc = call(cuMemAlloc, v, bytes);
            out[0] = v.get(JAVA_LONG, 0);
            return rc;
        }
    }

    void free(long pointer) {
        check(call(cuMemFree, pointer), "cuMemFree");
    }

    /** {free, total} bytes of device memory. */
    long[] memoryInfo() {
        try (Arena a = Arena.ofConfined()) {
            MemorySegment free = a.allocate(JAVA_LONG), total = a.allocate(JAVA_LONG);
            check(call(cuMemGetInfo, free, total), "cuMemGetInfo");
            return new long[]{free.get(JAVA_LONG, 0), total.get(JAVA_LONG, 0)};
        }
    }

    /** A synchronous copy from any host memory (Java arrays included); it waits for the stream's queue first. */
    void copyToDevice(long dst, MemorySegment src, long bytes) {
        check(call(cuMemcpyHtoD, dst, src, bytes), "cuMemcpyHtoD of " + bytes + " bytes");
    }

    /** Page-locked host memory of {@code bytes} (the only kind an asynchronous copy can read). */
    MemorySegment hostAlloc(long bytes) {
        try (Arena a = Arena.ofConfined()) {
            MemorySegment v = a.allocate(ADDRESS);
            check(call(cuMemHostAlloc, v, bytes, 0), "cuMemHostAlloc of " + bytes + " bytes");
            return v.get(ADDRESS, 0).reinterpret(bytes);
        }
    }

    /** Queues a copy from page-locked {@code src} on the default stream; returns before it runs. */
    void copyToDeviceAsync(long dst, MemorySegment src, long bytes) {
        check(call(cuMemcpyHtoDAsync, dst, src, bytes, MemorySegment.NULL), "cuMemcpyHtoDAsync of " + bytes
                + " bytes");
    }

    /** A new event without timing (the cheap kind, for ordering). */
    MemorySegment createEvent() {
        try (Arena a = Arena.ofConfined()) {
            MemorySegment v = a.allocate(ADDRESS);
            check(call(cuEventCreate, v, EVENT_DISABLE_TIMING), "cuEventCreate");
            return v.get(ADDRESS, 0);
        }
    }

    /** Marks the current end of the default stream's queue in {@code event}. */
    void recordEvent(MemorySegment event) {
        check(call(cuEventRecord, event, MemorySegment.NULL), "cuEventRecord");
    }

    /** Waits until everything queued before the event's last record has run. */
    void synchronizeEvent(MemorySegment event) {
        check(call(cuEventSynchronize, event), "cuEventSynchronize (a kernel launched earlier failed)");
    }

    void copyToHost(MemorySegment dst, long src, long bytes) {
        check(call(cuMemcpyDtoH, dst, src, bytes), "cuMemcpyDtoH of " + bytes + " bytes");
    }

    void copyOnDevice(long dst, long src, long bytes) {
        check(call(cuMemcpyDtoD, dst, src, bytes), "cuMemcpyDtoD of " + bytes + " bytes");
    }

    /** Sets {@code count} 32-bit words at {@code dst} to {@code bits}. */
    void fill32(long dst, int bits, long count) {
        check(call(cuMemsetD32, dst, bits, count), "cuMemsetD32 of " + count + " words");
    }

    // ------------------------------------------------------------------ modules and launches

    MemorySegment loadModule(MemorySegment image, String what) {
        try (Arena a = Arena.ofConfined()) {
            MemorySegment v = a.allocate(ADDRESS);
            check(call(cuModuleLoadData, v, image), "cuModuleLoadData(" + what + ")");
            return v.get(ADDRESS, 0);
        }
    }

    MemorySegment function(MemorySegment module, String name) {
        try (Arena a = Arena.ofConfined()) {
            MemorySegment v = a.allocate(ADDRESS);
            check(call(cuModuleGetFunction, v, module, a.allocateFrom(name)), "cuModuleGetFunction(" + name + ")");
            return v.get(ADDRESS, 0);
        }
    }

    void setFunctionAttribute(MemorySegment function, int attribute, int value, String name) {
        check(call(cuFuncSetAttribute, function, attribute, value),
                "cuFuncSetAttribute(" + name + ", " + attribute + ", " + value + ")");
    }

    /** Launches on the default stream; {@code params} holds one address per kernel argument. */
    void launch(MemorySegment function, int gridX, int gridY, int gridZ, int blockX, int sharedBytes,
                MemorySegment params, String name) {
        int rc;
        try {
            rc = (int) cuLaunchKernel.invokeExact(function, gridX, gridY, gridZ, blockX, 1, 1, sharedBytes,
                    MemorySegment.NULL, params, MemorySegment.NULL);
        } catch (Throwable t) {
            throw new CudaException("cuLaunchKernel(" + name + ") could not be called", t);
        }
        check(rc, "cuLaunchKernel(" + name + ", grid " + gridX + "x" + gridY + "x" + gridZ + ", block " + blockX
                + ", " + sharedBytes + " B shared)");
    }

    // ------------------------------------------------------------------ plumbing

    String errorName(int code) {
        try (Arena a = Arena.ofConfined()) {
            MemorySegment v = a.allocate(ADDRESS);
            if (call(cuGetErrorName, code, v) != 0) {
                return "CUresult " + code;
            }
            return v.get(ADDRESS, 0).reinterpret(256).getString(0) + " (" + code + ")";
        }
    }

    void check(int code, String what) {
        if (code != 0) {
            throw new CudaException(what + " failed: " + errorName(code));
        }
    }

    private static int call(MethodHandle h, Object... args) {
        try {
            return (int) h.invokeWithArguments(args);
        } catch (RuntimeException | Error e) {
            throw e;
        } catch (Throwable t) {
            throw new CudaException("native call failed", t);
        }
    }

    private static MethodHandle bind(SymbolLookup lib, String name, java.lang.foreign.MemoryLayout... args) {
        return LINKER.downcallHandle(symbol(lib, name), FunctionDescriptor.of(JAVA_INT, args));
    }

    private static MethodHandle bindCritical(SymbolLookup lib, String name, java.lang.foreign.MemoryLayout... args) {
        return LINKER.downcallHandle(symbol(lib, name), FunctionDescriptor.of(JAVA_INT, args),
                Linker.Option.critical(true));
    }

    static MemorySegment symbol(SymbolLookup lib, String name) {
        return lib.find(name).orElseThrow(() -> new CudaUnavailableException("the CUDA library lacks " + name
                + "; a CUDA 13 driver is needed"));
    }
}
