package io.texforce.tensor.io;

import io.texforce.tensor.BFloat16;
import io.texforce.tensor.Shape;
import io.texforce.tensor.Tensor;
import io.texforce.tensor.WeightDtype;
import io.texforce.tensor.cpu.HalfStorage;
import io.texforce.tensor.cpu.Parallel;

import java.io.IOException;
import java.lang.foreign.Arena;
import java.lang.foreign.MemorySegment;
import java.lang.foreign.ValueLayout;
import java.nio.channels.FileChannel;
import java.nio.file.Path;
import java.nio.file.StandardOpenOption;
import java.util.Arrays;
import java.util.Comparator;
import java.util.LinkedHashMap;
import java.util.Map;
import java.util.Set;
import java.util.stream.Collectors;

import static java.nio.ByteOrder.LITTLE_ENDIAN;

/**
 * A memory-mapped safetensors file, the format of Hugging Face's {@code safetensors} library: an 8-byte
 * little-endian header length N, N bytes of JSON header, then the tensors' bytes.
 *
 * <p>Opening reads and validates only the header; tensors are decoded on request, straight from the mapping, so
 * opening a multi-gigabyte checkpoint is cheap. Reads may run concurrently; {@link #close()} unmaps the file and
 * must not race with them.
 */
public final class SafeTensors implements AutoCloseable {
    /** The Python library's limit: a larger header means a corrupt or hostile file. */
    private static final long MAX_HEADER_BYTES = 100_000_000;
    /** Arrays are capped a little below {@link Integer#MAX_VALUE} by the JVM. */
    private static final long MAX_ARRAY_LENGTH = Integer.MAX_VALUE - 8;
    private static final int DECODE_GRAIN = 1 << 16;

    static final ValueLayout.OfShort SHORT = ValueLayout.JAVA_SHORT_UNALIGNED.withOrder(LITTLE_ENDIAN);
    static final ValueLayout.OfInt INT = ValueLayout.JAVA_INT_UNALIGNED.withOrder(LITTLE_ENDIAN);
    static final ValueLayout.OfLong LONG = ValueLayout.JAVA_LONG_UNALIGNED.withOrder(LITTLE_ENDIAN);
    static final ValueLayout.OfFloat FLOAT = ValueLayout.JAVA_FLOAT_UNALIGNED.withOrder(LITTLE_ENDIAN);
    static final ValueLayout.OfDouble DOUBLE = ValueLayout.JAVA_DOUBLE_UNALIGNED.withOrder(LITTLE_ENDIAN);

    private final Path path;
    private final Arena arena;
    private final MemorySegment data;
    private final Header header;
    private volatile boolean closed;

    private SafeTensors(Path path, Arena arena, MemorySegment data, Header header) {
        this.path = path;
        this.arena = arena;
        this.data = data;
        this.header = header;
    }

    /** Maps {@code file} and validates its header; the error names the file and the entry at fault. */
    public static SafeTensors open(Path file) {
        Arena arena = Arena.ofShared();
        try (FileChannel channel = FileChannel.open(file, StandardOpenOption.READ)) {
            long size = channel.size();
            if (size < 8) {
                throw new SafeTensorsException(file + ": truncated: " + size
                        + " bytes, but a safetensors file starts with an 8-byte header length");
            }
            MemorySegment whole = channel.map(FileChannel.MapMode.READ_ONLY, 0, size, arena);
            long n = whole.get(LONG, 0);
            if (n < 0 || n > size - 8) {
                throw new SafeTensorsException(file + ": header length " + Long.toUnsignedString(n)
                        + " extends beyond the end of the " + size + "-byte file");
            }
            if (n > MAX_HEADER_BYTES) {
                throw new SafeTensorsException(file + ": header length " + n + " exceeds the limit of "
                        + MAX_HEADER_BYTES + " bytes");
            }
            byte[] json = whole.asSlice(8, n).toArray(ValueLayout.JAVA_BYTE);
            long bufferLength = size - 8 - n;
            Header header = Header.parse(file, json, bufferLength);
            return new SafeTensors(file, arena, whole.asSlice(8 + n, bufferLength), header);
        } catch (IOException e) {
            arena.close();
            throw new SafeTensorsException(file + ": cannot read: " + e, e);
        } catch (RuntimeException e) {
            arena.close();
            throw e;
        }
    }

    /** Opens {@code file}, decodes every tensor (see {@link #loadAll()}) and closes it. */
    public static Map<String, Tensor> loadAll(Path file) {
        try (SafeTensors st = open(file)) {
            return st.loadAll();
        }
    }

    /** Writes {@code tensors} as F32, plus {@code metadata}, atomically; see {@link SafeTensorsWriter}. */
    public static void write(Path file, Map<String, Tensor> tensors, Map<String, String> metadata) {
        var writer = new SafeTensorsWriter();
        tensors.forEach(writer::put);
        metadata.forEach(writer::metadata);
        writer.write(file);
    }

    public Path path() {
        return path;
    }

    /**
     * Tensor names in the order of their data in the file. For files written by {@link SafeTensorsWriter} or by
     * current versions of the Python library that is by descending dtype width, then by name.
     */
    public Set<String> keys() {
        return header.tensors().keySet();
    }

    public boolean contains(String key) {
        return header.tensors().containsKey(key);
    }

    /** The header entry of {@code key}; an error listing similar names if there is none. */
    public TensorInfo info(String key) {
        TensorInfo info = header.tensors().get(key);
        if (info == null) {
            throw new SafeTensorsException(path + ": no tensor '" + key + "'; the file has " + keys().size()
                    + " tensors" + similarKeys(key));
        }
        return info;
    }

    /** The {@code __metadata__} strings, or an empty map. */
    public Map<String, String> metadata() {
        return header.metadata();
    }

    /** {@code key} as a float32 CPU tensor, whatever its stored dtype (integers and bools convert to floats). */
    public Tensor tensor(String key) {
        return Tensor.of(floats(key), info(key).shape());
    }

    /** The elements of {@code key} in row-major order, converted to float32. */
    public float[] floats(String key) {
        TensorInfo info = info(key);
        int n = arrayLength(info, info.numel(), "elements");
        MemorySegment src = segment(info);
        float[] out = new float[n];
        Parallel.forRange(n, DECODE_GRAIN, (from, to) -> decodeFloats(info.dtype(), src, out, from, to));
        return out;
    }

    /**
     * {@code key} as a CPU tensor stored in {@code dtype}. A 16-bit tensor stored in that same format is copied bit
     * for bit; any other floating-point tensor is rounded element by element straight from the mapping (nearest,
     * ties to even), so no float32 copy of the whole tensor is made.
     */
    public Tensor tensor(String key, WeightDtype dtype) {
        if (!dtype.isHalf()) {
            return tensor(key);
        }
        int[] shape = info(key).shape();
        return new Tensor(new HalfStorage(halves(key, dtype), dtype), shape, Shape.contiguousStrides(shape), 0);
    }

    /** The elements of a floating-point tensor as 16-bit patterns of {@code dtype} (bf16 or fp16). */
    public short[] halves(String key, WeightDtype dtype) {
        TensorInfo info = info(key);
        if (!info.dtype().isFloatingPoint() || !dtype.isHalf()) {
            throw new SafeTensorsException(path + ": tensor '" + key + "' (" + info.dtype() + ") cannot be read as "
                    + dtype.cliName() + "; 16-bit reads are for floating-point tensors into bf16 or fp16");
        }
        int n = arrayLength(info, info.numel(), "elements");
        MemorySegment src = segment(info);
        short[] out = new short[n];
        DType same = dtype == WeightDtype.BF16 ? DType.BF16 : DType.F16;
        if (info.dtype() == same) {
            MemorySegment.copy(src, SHORT, 0, out, 0, n);
            return out;
        }
        Parallel.forRange(n, DECODE_GRAIN, (from, to) -> {
            for (int i = from; i < to; i++) {
                float v = switch (info.dtype()) {
                    case F64 -> (float) src.getAtIndex(DOUBLE, i);
                    case F32 -> src.getAtIndex(FLOAT, i);
                    case F16 -> Float.float16ToFloat(src.getAtIndex(SHORT, i));
                    case BF16 -> BFloat16.toFloat(src.getAtIndex(SHORT, i));
                    default -> throw new AssertionError(info.dtype());
                };
                out[i] = dtype.encode(v);
            }
        });
        return out;
    }

    /** The rows of a 2-D integer tensor, e.g. token ids [prompts, 77]; see {@link #ints}. */
    public int[][] intRows(String key) {
        int[] shape = info(key).shape();
        if (shape.length != 2) {
            throw new SafeTensorsException(path + ": tensor '" + key + "' has shape " + Arrays.toString(shape)
                    + "; intRows() reads 2-D tensors");
        }
        int[] flat = ints(key);
        int[][] rows = new int[shape[0]][];
        for (int r = 0; r < shape[0]; r++) {
            rows[r] = Arrays.copyOfRange(flat, r * shape[1], (r + 1) * shape[1]);
        }
        return rows;
    }

    /** The elements of an integer or bool tensor; I64 values outside the int range are an error. */
    public int[] ints(String key) {
        TensorInfo info = info(key);
        if (info.dtype().isFloatingPoint()) {
            throw new SafeTensorsException(path + ": tensor '" + key + "' has dtype " + info.dtype()
                    + "; ints() reads integer and bool tensors, use floats()");
        }
        int n = arrayLength(info, info.numel(), "elements");
        MemorySegment src = segment(info);
        int[] out = new int[n];
        switch (info.dtype()) {
            case I64 -> {
                for (int i = 0; i < n; i++) {
                    long v = src.getAtIndex(LONG, i);
                    if (v != (int) v) {
                        throw new SafeTensorsException(path + ": tensor '" + key + "' (I64" + Arrays.toString(
                                info.shape()) + ") element " + i + " = " + v + " does not fit in an int");
                    }
                    out[i] = (int) v;
                }
            }
            case I32 -> MemorySegment.copy(src, INT, 0, out, 0, n);
            case I16 -> {
                for (int i = 0; i < n; i++) {
                    out[i] = src.getAtIndex(SHORT, i);
                }
            }
            case I8 -> {
                for (int i = 0; i < n; i++) {
                    out[i] = src.get(ValueLayout.JAVA_BYTE, i);
                }
            }
            case U8 -> {
                for (int i = 0; i < n; i++) {
                    out[i] = Byte.toUnsignedInt(src.get(ValueLayout.JAVA_BYTE, i));
                }
            }
            case BOOL -> {
                for (int i = 0; i < n; i++) {
                    out[i] = src.get(ValueLayout.JAVA_BYTE, i) != 0 ? 1 : 0;
                }
            }
            default -> throw new AssertionError(info.dtype());
        }
        return out;
    }

    /** The stored bytes of {@code key}, little-endian, as in the file. */
    public byte[] bytes(String key) {
        TensorInfo info = info(key);
        arrayLength(info, info.byteLength(), "bytes");
        return segment(info).toArray(ValueLayout.JAVA_BYTE);
    }

    /** Every tensor, decoded to float32, in {@link #keys()} order. */
    public Map<String, Tensor> loadAll() {
        var out = new LinkedHashMap<String, Tensor>();
        for (String key : keys()) {
            out.put(key, tensor(key));
        }
        return out;
    }

    /** Unmaps the file; later reads fail. */
    @Override
    public synchronized void close() {
        if (!closed) {
            closed = true;
            arena.close();
        }
    }

    @Override
    public String toString() {
        return "SafeTensors[" + path + ", " + keys().size() + " tensors]";
    }

    private MemorySegment segment(TensorInfo info) {
        if (closed) {
            throw new SafeTensorsException(path + ": already closed, cannot read tensor '" + info.name() + "'");
        }
        return data.asSlice(info.begin(), info.byteLength());
    }

    private int arrayLength(TensorInfo info, long length, String unit) {
        if (length > MAX_ARRAY_LENGTH) {
            throw new SafeTensorsException(path + ": tensor '" + info.name() + "' (" + info.dtype()
                    + Arrays.toString(info.shape()) + ") has " + length + " " + unit
                    + ", more than a Java array holds");
        }
        return (int) length;
    }

    private static void decodeFloats(DType dtype, MemorySegment src, float[] out, int from, int to) {
        switch (dtype) {
            case F64 -> {
                for (int i = from; i < to; i++) {
                    out[i] = (float) src.getAtIndex(DOUBLE, i);
                }
            }
            case F32 -> MemorySegment.copy(src, FLOAT, (long) from * 4, out, from, to - from);
            case F16 -> {
                for (int i = from; i < to; i++) {
                    out[i] = Float.float16ToFloat(src.getAtIndex(SHORT, i));
                }
            }
            case BF16 -> {
                for (int i = from; i < to; i++) {
                    out[i] = BFloat16.toFloat(src.getAtIndex(SHORT, i));
                }
            }
            case I64 -> {
                for (int i = from; i < to; i++) {
                    out[i] = src.getAtIndex(LONG, i);
                }
            }
            case I32 -> {
                for (int i = from; i < to; i++) {
                    out[i] = src.getAtIndex(INT, i);
                }
            }
            case I16 -> {
                for (int i = from; i < to; i++) {
                    out[i] = src.getAtIndex(SHORT, i);
                }
            }
            case I8 -> {
                for (int i = from; i < to; i++) {
                    out[i] = src.get(ValueLayout.JAVA_BYTE, i);
                }
            }
            case U8 -> {
                for (int i = from; i < to; i++) {
                    out[i] = Byte.toUnsignedInt(src.get(ValueLayout.JAVA_BYTE, i));
                }
            }
            case BOOL -> {
                for (int i = from; i < to; i++) {
                    out[i] = src.get(ValueLayout.JAVA_BYTE, i) != 0 ? 1f : 0f;
                }
            }
        }
    }

    /** Up to five existing names sharing the longest prefix with {@code key}, for the missing-key message. */
    private String similarKeys(String key) {
        if (keys().isEmpty()) {
            return "";
        }
        return keys().stream()
                .sorted(Comparator.comparingInt((String k) -> -commonPrefix(k, key)).thenComparing(k -> k))
                .limit(5)
                .map(k -> "'" + k + "'")
                .collect(Collectors.joining(", ", ", e.g. ", keys().size() > 5 ? ", ..." : ""));
    }

    private static int commonPrefix(String a, String b) {
        int n = Math.min(a.length(), b.length());
        int i = 0;
        while (i < n && a.charAt(i) == b.charAt(i)) {
            i++;
        }
        return i;
    }
}
