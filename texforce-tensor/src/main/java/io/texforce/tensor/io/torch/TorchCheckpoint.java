package io.texforce.tensor.io.torch;

import io.texforce.tensor.Tensor;
import io.texforce.tensor.io.DType;
import io.texforce.tensor.io.SafeTensorsWriter;
import io.texforce.tensor.nn.CheckpointSource;

import java.io.BufferedInputStream;
import java.io.FilterInputStream;
import java.io.IOException;
import java.io.InputStream;
import java.io.UncheckedIOException;
import java.math.BigInteger;
import java.nio.ByteBuffer;
import java.nio.ByteOrder;
import java.nio.channels.FileChannel;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.Comparator;
import java.util.HashMap;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.Set;
import java.util.function.Function;
import java.util.zip.ZipEntry;
import java.util.zip.ZipFile;

/**
 * A PyTorch checkpoint ({@code .pt}, {@code .pth}, {@code .bin}) read without running it: the zip format of
 * {@code torch.save} (torch >= 1.6) or the legacy format before it, through a {@link PickleReader} that knows
 * only tensors, storages, {@code OrderedDict} and plain containers. Tensor data stays in the file until a tensor
 * is loaded.
 *
 * <p>{@link #tensors()} is the checkpoint's state dict: the {@code state_dict} entry when the root dict has one
 * (as training checkpoints do), else the root; nested dicts and lists become dotted names, and a {@code module.}
 * prefix that every name carries (DistributedDataParallel) is dropped. Non-tensor values (an epoch count, say)
 * stay in {@link #root()}.
 */
public final class TorchCheckpoint implements CheckpointSource {
    /** The first pickle of a legacy file: torch.serialization's magic number. */
    private static final BigInteger LEGACY_MAGIC = new BigInteger("1950a86a20f9469cfc6c", 16);

    private final Path file;
    private final Object root;
    private final Map<String, TorchTensor> tensors;
    private final StorageBytes storages;
    private final ByteOrder order;

    /** Reads the bytes of a stored storage. */
    private interface StorageBytes extends AutoCloseable {
        /** Bytes [from, to) of storage {@code key}. */
        ByteBuffer read(String key, long from, long to) throws IOException;

        @Override
        void close() throws IOException;
    }

    /** A storage as a persistent id names it; a legacy view starts {@code offset} elements in. */
    private record StorageRef(String key, StorageType type, long numel, long offset) {
    }

    private TorchCheckpoint(Path file, Object root, StorageBytes storages, ByteOrder order) {
        this.file = file;
        this.root = root;
        this.storages = storages;
        this.order = order;
        this.tensors = stateDict(root);
    }

    /** Opens a checkpoint, telling the zip and legacy formats apart by their first bytes. */
    public static TorchCheckpoint open(Path file) {
        try {
            byte[] head;
            try (InputStream in = Files.newInputStream(file)) {
                head = in.readNBytes(4);
            }
            if (head.length == 4 && head[0] == 'P' && head[1] == 'K' && head[2] == 3 && head[3] == 4) {
                return openZip(file);
            }
            if (head.length > 0 && (head[0] & 0xFF) == 0x80) {
                return openLegacy(file);
            }
            throw new PickleException(file + " is neither a torch.save zip archive nor a legacy PyTorch pickle");
        } catch (IOException e) {
            throw new UncheckedIOException("cannot read " + file + ": " + e.getMessage(), e);
        }
    }

    private static TorchCheckpoint openZip(Path file) throws IOException {
        ZipFile zip = new ZipFile(file.toFile());
        try {
            ZipEntry pkl = zip.stream().filter(e -> e.getName().endsWith("data.pkl"))
                    .min(Comparator.comparingInt(e -> e.getName().length()))
                    .orElseThrow(() -> new PickleException(file + " is a zip file without data.pkl: not a torch.save"
                            + " checkpoint"));
            String prefix = pkl.getName().substring(0, pkl.getName().length() - "data.pkl".length());
            ZipEntry byteorder = zip.getEntry(prefix + "byteorder");
            ByteOrder order = ByteOrder.LITTLE_ENDIAN;
            if (byteorder != null) {
                try (InputStream in = zip.getInputStream(byteorder)) {
                    order = new String(in.readAllBytes()).strip().equals("big") ? ByteOrder.BIG_ENDIAN
                            : ByteOrder.LITTLE_ENDIAN;
                }
            }
            Object root;
            try (InputStream in = new BufferedInputStream(zip.getInputStream(pkl))) {
                root = reader(file, pid -> zipStorage(pid, file)).read(in);
            }
            StorageBytes bytes = new StorageBytes() {
                @Override
                public ByteBuffer read(String key, long from, long to) throws IOException {
                    ZipEntry e = zip.getEntry(prefix + "data/" + key);
                    if (e == null) {
                        throw new PickleException(file + " has no data for storage " + key);
                    }
                    try (InputStream in = zip.getInputStream(e)) {
                        in.skipNBytes(from);
                        byte[] b = in.readNBytes(Math.toIntExact(to - from));
                        if (b.length != to - from) {
                            throw new PickleException(file + ": storage " + key + " holds " + (from + b.length)
                                    + " bytes, the tensor needs " + to);
                        }
                        return ByteBuffer.wrap(b);
                    }
                }

                @Override
                public void close() throws IOException {
                    zip.close();
                }
            };
            return new TorchCheckpoint(file, root, bytes, order);
        } catch (IOException | RuntimeException e) {
            zip.close();
            throw e;
        }
    }

    private static StorageRef zipStorage(List<Object> pid, Path file) {
        // ('storage', storage_type, key, location, numel)
        if (pid.size() != 5 || !"storage".equals(pid.get(0)) || !(pid.get(1) instanceof StorageType type)) {
            throw new PickleException(file + ": unsupported persistent id " + pid);
        }
        return new StorageRef(String.valueOf(pid.get(2)), type, asLong(pid.get(4), file), 0);
    }

    private static TorchCheckpoint openLegacy(Path file) throws IOException {
        Map<String, StorageRef> refs = new HashMap<>();
        Object root;
        boolean little;
        long position;
        List<?> keys;
        try (CountingStream in = new CountingStream(new BufferedInputStream(Files.newInputStream(file)))) {
            PickleReader plain = reader(file, pid -> {
                throw new PickleException(file + ": unexpected persistent id in the legacy header");
            });
            Object magic = plain.read(in);
            if (!LEGACY_MAGIC.equals(magic)) {
                throw new PickleException(file + " is a pickle but not a PyTorch checkpoint (no torch.save magic"
                        + " number)");
            }
            Object protocol = plain.read(in);
            if (!Long.valueOf(1001).equals(protocol)) {
                throw new PickleException(file + ": unsupported legacy protocol version " + protocol);
            }
            Object sysInfo = plain.read(in);
            little = !(sysInfo instanceof Map<?, ?> info) || !Boolean.FALSE.equals(info.get("little_endian"));
            root = reader(file, pid -> legacyStorage(pid, refs, file)).read(in);
            Object keyList = plain.read(in);
            if (!(keyList instanceof List<?> k)) {
                throw new PickleException(file + ": expected the list of storage keys, got "
                        + PickleReader.describe(keyList));
            }
            keys = k;
            position = in.count;
        }
        FileChannel channel = FileChannel.open(file);
        try {
            ByteOrder order = little ? ByteOrder.LITTLE_ENDIAN : ByteOrder.BIG_ENDIAN;
            Map<String, Long> dataStart = new HashMap<>();
            for (Object k : keys) {
                String key = String.valueOf(k);
                StorageRef ref = refs.get(key);
                if (ref == null) {
                    throw new PickleException(file + ": storage " + key + " is listed but no tensor uses it");
                }
                ByteBuffer size = ByteBuffer.allocate(8).order(order);
                channel.read(size, position);
                long numel = size.flip().getLong();
                if (numel < ref.numel()) {
                    throw new PickleException(file + ": storage " + key + " holds " + numel + " elements, its tensors"
                            + " need " + ref.numel());
                }
                dataStart.put(key, position + 8);
                position += 8 + numel * ref.type().elementSize();
            }
            StorageBytes bytes = new StorageBytes() {
                @Override
                public ByteBuffer read(String key, long from, long to) throws IOException {
                    Long start = dataStart.get(key);
                    if (start == null) {
                        throw new PickleException(file + " has no data for storage " + key);
                    }
                    ByteBuffer b = ByteBuffer.allocate(Math.toIntExact(to - from));
                    while (b.hasRemaining()) {
                        if (channel.read(b, start + from + b.position()) < 0) {
                            throw new PickleException(file + " ends inside storage " + key);
                        }
                    }
                    return b.flip();
                }

                @Override
                public void close() throws IOException {
                    channel.close();
                }
            };
            return new TorchCheckpoint(file, root, bytes, order);
        } catch (RuntimeException e) {
            channel.close();
            throw e;
        }
    }

    private static StorageRef legacyStorage(List<Object> pid, Map<String, StorageRef> refs, Path file) {
        // ('storage', storage_type, root_key, location, numel, view_metadata)
        if (pid.size() != 6 || !"storage".equals(pid.get(0)) || !(pid.get(1) instanceof StorageType type)) {
            throw new PickleException(file + ": unsupported persistent id " + pid);
        }
        String key = String.valueOf(pid.get(2));
        StorageRef ref = new StorageRef(key, type, asLong(pid.get(4), file), 0);
        refs.merge(key, ref, (a, b) -> a.numel() >= b.numel() ? a : b);
        if (pid.get(5) instanceof List<?> view && view.size() == 3) {
            // (view_key, offset, view_size): a storage view starting inside the root storage.
            return new StorageRef(key, type, ref.numel(), asLong(view.get(1), file));
        }
        return ref;
    }

    private static PickleReader reader(Path file, Function<List<Object>, Object> persistent) {
        Map<String, Object> globals = new HashMap<>();
        globals.put("collections.OrderedDict", (PickleFunction) args -> {
            Map<Object, Object> m = new LinkedHashMap<>();
            if (!args.isEmpty() && args.getFirst() instanceof List<?> pairs) {
                for (Object p : pairs) {
                    if (p instanceof List<?> kv && kv.size() == 2) {
                        m.put(kv.get(0), kv.get(1));
                    }
                }
            }
            return m;
        });
        globals.put("torch._utils._rebuild_tensor_v2", (PickleFunction) args -> rebuildTensor(args, file));
        globals.put("torch._utils._rebuild_parameter", (PickleFunction) args -> args.getFirst());
        for (StorageType t : StorageType.values()) {
            globals.put("torch." + t.className(), t);
        }
        return new PickleReader(globals, persistent, file.toString());
    }

    private static TorchTensor rebuildTensor(List<Object> args, Path file) {
        // (storage, storage_offset, size, stride, requires_grad, backward_hooks[, metadata])
        if (args.size() < 4 || !(args.get(0) instanceof StorageRef ref) || !(args.get(2) instanceof List<?> size)
                || !(args.get(3) instanceof List<?> stride)) {
            throw new PickleException(file + ": _rebuild_tensor_v2 with unexpected arguments " + args);
        }
        int[] shape = new int[size.size()];
        long[] strides = new long[stride.size()];
        for (int i = 0; i < shape.length; i++) {
            shape[i] = Math.toIntExact(asLong(size.get(i), file));
        }
        for (int i = 0; i < strides.length; i++) {
            strides[i] = asLong(stride.get(i), file);
        }
        TorchTensor t = new TorchTensor(ref.key(), ref.type(), ref.offset() + asLong(args.get(1), file), shape, strides);
        if (t.extent() > ref.offset() + ref.numel()) {
            throw new PickleException(file + ": " + t + " reaches past the storage's " + ref.numel() + " elements");
        }
        return t;
    }

    private static long asLong(Object o, Path file) {
        if (o instanceof Long l) {
            return l;
        }
        throw new PickleException(file + ": expected an integer, got " + PickleReader.describe(o));
    }

    private static Map<String, TorchTensor> stateDict(Object root) {
        Object dict = root;
        if (root instanceof Map<?, ?> m && m.get("state_dict") instanceof Map<?, ?> sd) {
            dict = sd;
        }
        Map<String, TorchTensor> out = new LinkedHashMap<>();
        flatten(dict, "", out);
        if (!out.isEmpty() && out.keySet().stream().allMatch(k -> k.startsWith("module."))) {
            Map<String, TorchTensor> stripped = new LinkedHashMap<>();
            out.forEach((k, v) -> stripped.put(k.substring("module.".length()), v));
            return stripped;
        }
        return out;
    }

    private static void flatten(Object o, String prefix, Map<String, TorchTensor> out) {
        if (o instanceof TorchTensor t) {
            out.put(prefix.isEmpty() ? "tensor" : prefix.substring(0, prefix.length() - 1), t);
        } else if (o instanceof Map<?, ?> m) {
            m.forEach((k, v) -> flatten(v, prefix + k + ".", out));
        } else if (o instanceof List<?> l) {
            for (int i = 0; i < l.size(); i++) {
                flatten(l.get(i), prefix + i + ".", out);
            }
        }
    }

    /** The unpickled object: dicts, lists, primitives and {@link TorchTensor}s. */
    public Object root() {
        return root;
    }

    /** The state dict's tensors by dotted name, in file order. */
    public Map<String, TorchTensor> tensors() {
        return tensors;
    }

    /** The elements of tensor {@code key} as float32, in row-major order of its shape. */
    public float[] floats(String key) {
        TorchTensor t = require(key);
        int elem = t.type().elementSize();
        ByteBuffer b;
        try {
            b = storages.read(t.storage(), t.offset() * elem, t.extent() * elem).order(order);
        } catch (IOException e) {
            throw new UncheckedIOException("cannot read tensor '" + key + "' from " + file + ": " + e.getMessage(), e);
        }
        float[] out = new float[t.numel()];
        int[] shape = t.shape();
        int[] index = new int[shape.length];
        long pos = 0;
        for (int i = 0; i < out.length; i++) {
            out[i] = element(b, (int) pos * elem, t.type());
            for (int d = shape.length - 1; d >= 0; d--) {
                index[d]++;
                pos += t.stride()[d];
                if (index[d] < shape[d]) {
                    break;
                }
                pos -= t.stride()[d] * shape[d];
                index[d] = 0;
            }
        }
        return out;
    }

    private static float element(ByteBuffer b, int at, StorageType type) {
        return switch (type) {
            case FLOAT -> b.getFloat(at);
            case HALF -> Float.float16ToFloat(b.getShort(at));
            case BFLOAT16 -> Float.intBitsToFloat(b.getShort(at) << 16);
            case DOUBLE -> (float) b.getDouble(at);
            case LONG -> b.getLong(at);
            case INT -> b.getInt(at);
            case SHORT -> b.getShort(at);
            case CHAR -> b.get(at);
            case BYTE -> b.get(at) & 0xFF;
            case BOOL -> b.get(at) != 0 ? 1f : 0f;
        };
    }

    private TorchTensor require(String key) {
        TorchTensor t = tensors.get(key);
        if (t == null) {
            throw new IllegalArgumentException("no tensor '" + key + "' in " + file);
        }
        return t;
    }

    /**
     * Writes the state dict as safetensors. Floating-point tensors keep F32, F16 or BF16 (F64 becomes F32); integer
     * and bool tensors become I64 (from int64) or I32 (from narrower types).
     */
    public void writeSafeTensors(Path out) {
        SafeTensorsWriter w = new SafeTensorsWriter().metadata("format", "pt");
        tensors.forEach((name, t) -> {
            DType d = t.type().dtype();
            if (d.isFloatingPoint()) {
                w.put(name, load(name), d == DType.F64 ? DType.F32 : d);
            } else {
                float[] v = floats(name);
                int[] ints = new int[v.length];
                for (int i = 0; i < v.length; i++) {
                    if (v[i] != (int) v[i]) {
                        throw new IllegalArgumentException("tensor '" + name + "' in " + file + " holds " + v[i]
                                + ", which does not fit an int32");
                    }
                    ints[i] = (int) v[i];
                }
                w.putInts(name, ints, t.shape(), d == DType.I64 ? DType.I64 : DType.I32);
            }
        });
        w.write(out);
    }

    @Override
    public boolean contains(String key) {
        return tensors.containsKey(key);
    }

    @Override
    public int[] shape(String key) {
        return require(key).shape().clone();
    }

    @Override
    public Tensor load(String key) {
        return Tensor.of(floats(key), require(key).shape().clone());
    }

    @Override
    public DType storedDType(String key) {
        TorchTensor t = tensors().get(key);
        return t == null ? null : t.type().dtype();
    }

    @Override
    public Set<String> keys() {
        return tensors.keySet();
    }

    @Override
    public String describe() {
        return file.toString();
    }

    @Override
    public void close() {
        try {
            storages.close();
        } catch (IOException e) {
            throw new UncheckedIOException("cannot close " + file, e);
        }
    }

    @Override
    public String toString() {
        return "TorchCheckpoint(" + file + ", " + tensors.size() + " tensors)";
    }

    /** Counts the bytes read, to find where the legacy format's raw storages start. */
    private static final class CountingStream extends FilterInputStream {
        long count;

        CountingStream(InputStream in) {
            super(in);
        }

        @Override
        public int read() throws IOException {
            int b = super.read();
            if (b >= 0) {
                count++;
            }
            return b;
        }

        @Override
        public int read(byte[] b, int off, int len) throws IOException {
            int n = super.read(b, off, len);
            if (n > 0) {
                count += n;
            }
            return n;
        }

        @Override
        public long skip(long n) throws IOException {
            long s = super.skip(n);
            count += s;
            return s;
        }
    }
}
