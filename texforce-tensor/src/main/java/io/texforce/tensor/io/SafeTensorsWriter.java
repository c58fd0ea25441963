package io.texforce.tensor.io;

import com.fasterxml.jackson.core.JsonFactory;
import com.fasterxml.jackson.core.JsonGenerator;
import io.texforce.tensor.BFloat16;
import io.texforce.tensor.Shape;
import io.texforce.tensor.Tensor;
import io.texforce.tensor.cpu.CpuStorage;

import java.io.ByteArrayOutputStream;
import java.io.IOException;
import java.nio.ByteBuffer;
import java.nio.ByteOrder;
import java.nio.channels.FileChannel;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.StandardCopyOption;
import java.nio.file.StandardOpenOption;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.Comparator;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.concurrent.ThreadLocalRandom;

/**
 * Builds a safetensors file that the Python {@code safetensors} library and diffusers read.
 *
 * <p>The layout is the Python library's, byte for byte: tensors ordered by descending dtype width, then by name
 * (UTF-8 byte order); a compact JSON header with {@code __metadata__} first and the entries in data order,
 * padded with spaces to a multiple of 8 bytes so that every tensor starts 8-byte aligned. Python orders
 * multiple metadata entries by hash; here they keep insertion order.
 *
 * <p>Tensors and arrays are read when {@link #write} runs, not when they are put, so a large checkpoint is
 * never copied whole; do not modify them in between.
 */
public final class SafeTensorsWriter {
    private static final JsonFactory JSON = new JsonFactory();
    private static final int CHUNK_BYTES = 1 << 20;

    private final Map<String, Entry> entries = new LinkedHashMap<>();
    private final Map<String, String> metadata = new LinkedHashMap<>();

    /** Adds {@code tensor}, stored as F32. */
    public SafeTensorsWriter put(String name, Tensor tensor) {
        return put(name, tensor, DType.F32);
    }

    /**
     * Adds {@code tensor}, stored as F32, F16 or BF16. Narrowing rounds to nearest even; F16 overflows to
     * infinity beyond 65504.
     */
    public SafeTensorsWriter put(String name, Tensor tensor, DType dtype) {
        requireFloat(name, dtype);
        return add(name, new FloatEntry(tensor, dtype));
    }

    /**
     * Adds a float tensor of {@code shape} that {@code loader} produces only while the file is written, one at a time:
     * a file of many large tensors (a converted checkpoint) never holds them all in memory.
     */
    public SafeTensorsWriter putLazy(String name, int[] shape, DType dtype, java.util.function.Supplier<Tensor> loader) {
        requireFloat(name, dtype);
        return add(name, new LazyEntry(name, shape.clone(), dtype, loader));
    }

    private static void requireFloat(String name, DType dtype) {
        if (dtype != DType.F32 && dtype != DType.F16 && dtype != DType.BF16) {
            throw new IllegalArgumentException("tensor '" + name + "': float tensors are stored as F32, F16 or BF16, not "
                    + dtype);
        }
    }

    /** Adds an integer tensor stored as I32 or I64. */
    public SafeTensorsWriter putInts(String name, int[] data, int[] shape, DType dtype) {
        if (dtype != DType.I32 && dtype != DType.I64) {
            throw new IllegalArgumentException("tensor '" + name + "': int arrays are stored as I32 or I64, not " + dtype);
        }
        if (Shape.numel(shape) != data.length) {
            throw new IllegalArgumentException("tensor '" + name + "': shape " + Arrays.toString(shape) + " needs "
                    + Shape.numel(shape) + " elements, got " + data.length);
        }
        return add(name, new IntEntry(data, shape.clone(), dtype));
    }

    /** Sets a {@code __metadata__} entry, replacing any earlier value for {@code key}. */
    public SafeTensorsWriter metadata(String key, String value) {
        metadata.put(key, value);
        return this;
    }

    /**
     * Writes the file atomically: the bytes go to a temporary file in the same directory, are forced to disk, and
     * the temporary file is then renamed over {@code file}. Readers see the old file or the new one, never a
     * partial write, even if the process dies.
     */
    public void write(Path file) {
        Path target = file.toAbsolutePath();
        // Not Files.createTempFile: its owner-only permissions would stick to the renamed file.
        Path temp = target.resolveSibling("." + target.getFileName() + "."
                + Long.toHexString(ThreadLocalRandom.current().nextLong()) + ".tmp");
        boolean moved = false;
        try {
            try (FileChannel channel = FileChannel.open(temp, StandardOpenOption.CREATE_NEW, StandardOpenOption.WRITE)) {
                writeTo(channel);
                channel.force(true);
            }
            Files.move(temp, target, StandardCopyOption.ATOMIC_MOVE, StandardCopyOption.REPLACE_EXISTING);
            moved = true;
            syncDirectory(target.getParent());
        } catch (IOException e) {
            throw new SafeTensorsException(file + ": cannot write: " + e, e);
        } finally {
            if (!moved) {
                deleteQuietly(temp);
            }
        }
    }

    private SafeTensorsWriter add(String name, Entry entry) {
        if (name.equals(Header.METADATA_KEY)) {
            throw new IllegalArgumentException("'" + Header.METADATA_KEY + "' is reserved and cannot name a tensor");
        }
        if (entries.putIfAbsent(name, entry) != null) {
            throw new IllegalArgumentException("duplicate tensor name '" + name + "'");
        }
        return this;
    }

    private void writeTo(FileChannel channel) throws IOException {
        List<Map.Entry<String, Entry>> ordered = new ArrayList<>(entries.entrySet());
        ordered.sort(Comparator.comparingInt((Map.Entry<String, Entry> e) -> -e.getValue().dtype().layoutRank())
                .thenComparing((a, b) -> Arrays.compareUnsigned(utf8(a.getKey()), utf8(b.getKey()))));
        byte[] header = header(ordered);
        drain(ByteBuffer.allocate(8 + header.length).order(ByteOrder.LITTLE_ENDIAN).putLong(header.length).put(header),
                channel);
        ByteBuffer buffer = ByteBuffer.allocateDirect(CHUNK_BYTES).order(ByteOrder.LITTLE_ENDIAN);
        for (var e : ordered) {
            e.getValue().writeTo(buffer, channel);
        }
    }

    private byte[] header(List<Map.Entry<String, Entry>> ordered) throws IOException {
        var bytes = new ByteArrayOutputStream();
        try (JsonGenerator g = JSON.createGenerator(bytes)) {
            g.writeStartObject();
            if (!metadata.isEmpty()) {
                g.writeFieldName(Header.METADATA_KEY);
                g.writeStartObject();
                for (var m : metadata.entrySet()) {
                    g.writeStringField(m.getKey(), m.getValue());
                }
                g.writeEndObject();
            }
            long offset = 0;
            for (var e : ordered) {
                Entry entry = e.getValue();
                g.writeFieldName(e.getKey());
                g.writeStartObject();
                g.writeStringField("dtype", entry.dtype().headerName());
                g.writeFieldName("shape");
                g.writeArray(entry.shape(), 0, entry.shape().length);
                g.writeFieldName("data_offsets");
                g.writeStartArray();
                g.writeNumber(offset);
                offset += (long) entry.numel() * entry.dtype().byteSize();
                g.writeNumber(offset);
                g.writeEndArray();
                g.writeEndObject();
            }
            g.writeEndObject();
        }
        int padding = (8 - bytes.size() % 8) % 8;
        for (int i = 0; i < padding; i++) {
            bytes.write(' ');
        }
        return bytes.toByteArray();
    }

    private static byte[] utf8(String s) {
        return s.getBytes(StandardCharsets.UTF_8);
    }

    /** Writes out and clears what {@code buffer} holds. */
    private static void drain(ByteBuffer buffer, FileChannel channel) throws IOException {
        buffer.flip();
        while (buffer.hasRemaining()) {
            channel.write(buffer);
        }
        buffer.clear();
    }

    /** Makes the rename durable too. Some platforms cannot open a directory; there the move is all we can do. */
    private static void syncDirectory(Path dir) {
        try (FileChannel d = FileChannel.open(dir, StandardOpenOption.READ)) {
            d.force(true);
        } catch (IOException e) {
            // Best effort: the file itself is already complete and in place.
        }
    }

    private static void deleteQuietly(Path temp) {
        try {
            Files.deleteIfExists(temp);
        } catch (IOException e) {
            // The original failure is the one worth reporting; a stray hidden temp file is harmless.
        }
    }

    /** A tensor waiting to be written, encoded in chunks through a shared buffer. */
    private sealed interface Entry permits FloatEntry, IntEntry, LazyEntry {
        DType dtype();

        int[] shape();

        int numel();

        void writeTo(ByteBuffer buffer, FileChannel channel) throws IOException;
    }

    private record FloatEntry(Tensor tensor, DType dtype) implements Entry {
        @Override
        public int[] shape() {
            return tensor.shape();
        }

        @Override
        public int numel() {
            return tensor.numel();
        }

        @Override
        public void writeTo(ByteBuffer buffer, FileChannel channel) throws IOException {
            float[] src;
            int base;
            if (tensor.storage() instanceof CpuStorage cpu && isContiguous(tensor)) {
                src = cpu.data();
                base = tensor.offset();
            } else {
                src = tensor.toFloatArray();
                base = 0;
            }
            int n = tensor.numel();
            int perChunk = buffer.capacity() / dtype.byteSize();
            for (int i = 0; i < n; i += perChunk) {
                int m = Math.min(perChunk, n - i);
                int from = base + i;
                switch (dtype) {
                    case F32 -> {
                        buffer.asFloatBuffer().put(src, from, m);
                        buffer.position(m * 4);
                    }
                    case F16 -> {
                        for (int j = from; j < from + m; j++) {
                            buffer.putShort(Float.floatToFloat16(src[j]));
                        }
                    }
                    case BF16 -> {
                        for (int j = from; j < from + m; j++) {
                            buffer.putShort(BFloat16.fromFloat(src[j]));
                        }
                    }
                    default -> throw new AssertionError(dtype);
                }
                drain(buffer, channel);
            }
        }

        /** Row-major without gaps; strides of size-1 dimensions, and of tensors without elements, do not matter. */
        private static boolean isContiguous(Tensor t) {
            if (t.numel() == 0) {
                return true;
            }
            int[] shape = t.shape();
            int[] strides = t.strides();
            int expected = 1;
            for (int d = shape.length - 1; d >= 0; d--) {
                if (shape[d] != 1 && strides[d] != expected) {
                    return false;
                }
                expected *= shape[d];
            }
            return true;
        }
    }

    private record LazyEntry(String name, int[] shape, DType dtype, java.util.function.Supplier<Tensor> loader)
            implements Entry {
        @Override
        public int numel() {
            return Shape.numel(shape);
        }

        @Override
        public void writeTo(ByteBuffer buffer, FileChannel channel) throws IOException {
            Tensor t = loader.get();
            if (!Arrays.equals(t.shape(), shape)) {
                throw new IllegalStateException("tensor '" + name + "' was announced as " + Arrays.toString(shape)
                        + " but is " + Arrays.toString(t.shape()));
            }
            new FloatEntry(t, dtype).writeTo(buffer, channel);
        }
    }

    private record IntEntry(int[] data, int[] shape, DType dtype) implements Entry {
        @Override
        public int numel() {
            return data.length;
        }

        @Override
        public void writeTo(ByteBuffer buffer, FileChannel channel) throws IOException {
            int perChunk = buffer.capacity() / dtype.byteSize();
            for (int i = 0; i < data.length; i += perChunk) {
                int m = Math.min(perChunk, data.length - i);
                if (dtype == DType.I32) {
                    buffer.asIntBuffer().put(data, i, m);
                    buffer.position(m * 4);
                } else {
                    for (int j = i; j < i + m; j++) {
                        buffer.putLong(data[j]);
                    }
                }
                drain(buffer, channel);
            }
        }
    }
}
