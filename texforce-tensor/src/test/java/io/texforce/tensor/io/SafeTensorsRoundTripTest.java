package io.texforce.tensor.io;

import io.texforce.tensor.Tensor;
import io.texforce.tensor.cpu.CpuStorage;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

import java.io.IOException;
import java.nio.ByteBuffer;
import java.nio.ByteOrder;
import java.nio.channels.FileChannel;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.StandardOpenOption;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.stream.Stream;

import static io.texforce.tensor.io.RawFiles.values;
import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

class SafeTensorsRoundTripTest {
    @TempDir
    Path dir;

    @Test
    void lazyTensorsAreLoadedOnlyWhileWrittenAndChecked() {
        int[] loads = {0};
        Path file = dir.resolve("lazy.safetensors");
        SafeTensorsWriter w = new SafeTensorsWriter()
                .putLazy("a", new int[]{2, 2}, DType.F16, () -> {
                    loads[0]++;
                    return Tensor.of(new float[]{1, 2, 3, 4}, 2, 2);
                })
                .put("b", Tensor.of(new float[]{5}, 1));
        assertEquals(0, loads[0], "nothing loaded before write");
        w.write(file);
        assertEquals(1, loads[0]);
        try (SafeTensors st = SafeTensors.open(file)) {
            assertEquals(DType.F16, st.info("a").dtype());
            assertArrayEquals(new float[]{1, 2, 3, 4}, st.floats("a"));
        }
        SafeTensorsWriter wrong = new SafeTensorsWriter().putLazy("a", new int[]{3}, DType.F32,
                () -> Tensor.of(new float[]{1, 2}, 2));
        var e = assertThrows(IllegalStateException.class, () -> wrong.write(dir.resolve("wrong.safetensors")));
        assertTrue(e.getMessage().contains("'a'") && e.getMessage().contains("[3]"), e.getMessage());
        assertTrue(!Files.exists(dir.resolve("wrong.safetensors")), "no partial file");
    }

    @Test
    void roundTripsEveryWritableDtypeWithMetadata() {
        float[] f32 = {0f, -0f, 1.5f, -3.25e-3f, Float.MIN_VALUE, Float.MAX_VALUE, Float.NaN,
                Float.NEGATIVE_INFINITY};
        float[] halfInputs = {0.1f, -2f, 65504f, 1e-5f, 0.33333334f, -1234.5678f};
        int[] i32 = {0, -1, Integer.MAX_VALUE, Integer.MIN_VALUE, 49406, 7};
        Path file = dir.resolve("all.safetensors");
        new SafeTensorsWriter()
                .put("f32", Tensor.of(f32, 2, 4))
                .put("f16", Tensor.of(halfInputs, 3, 2), DType.F16)
                .put("bf16", Tensor.of(halfInputs, 6), DType.BF16)
                .putInts("i32", i32, new int[] {2, 3}, DType.I32)
                .putInts("i64", i32, new int[] {6}, DType.I64)
                .put("scalar", Tensor.of(new float[] {3.5f}))
                .put("empty", Tensor.of(new float[0], 2, 0, 3))
                .metadata("format", "pt")
                .metadata("step", "120")
                .write(file);

        try (SafeTensors st = SafeTensors.open(file)) {
            assertEquals(Map.of("format", "pt", "step", "120"), st.metadata());
            assertEquals(7, st.keys().size());

            assertEquals(DType.F32, st.info("f32").dtype());
            assertArrayEquals(new int[] {2, 4}, st.tensor("f32").shape());
            assertArrayEquals(f32, st.floats("f32"));

            assertEquals(DType.F16, st.info("f16").dtype());
            assertEquals(12, st.info("f16").byteLength());
            float[] f16 = st.floats("f16");
            for (int i = 0; i < halfInputs.length; i++) {
                assertEquals(Float.float16ToFloat(Float.floatToFloat16(halfInputs[i])), f16[i]);
            }
            assertEquals(65504f, f16[2]);

            assertEquals(DType.BF16, st.info("bf16").dtype());
            float[] bf16 = st.floats("bf16");
            double maxRel = 0;
            for (int i = 0; i < halfInputs.length; i++) {
                maxRel = Math.max(maxRel, Math.abs(bf16[i] - halfInputs[i]) / Math.abs(halfInputs[i]));
            }
            System.out.printf("bf16 round trip max relative error %.3g (bound 2^-8 = %.3g)%n", maxRel, 0x1p-8);
            assertTrue(maxRel <= 0x1p-8 && maxRel > 0, "relative error " + maxRel);

            assertArrayEquals(i32, st.ints("i32"));
            assertArrayEquals(i32, st.ints("i64"));
            assertEquals(DType.I64, st.info("i64").dtype());
            float[] asFloats = st.floats("i32");
            assertEquals(49406f, asFloats[4]);
            byte[] raw = st.bytes("i64");
            assertEquals(48, raw.length);
            assertEquals(-1L, ByteBuffer.wrap(raw).order(ByteOrder.LITTLE_ENDIAN).getLong(8));

            TensorInfo scalar = st.info("scalar");
            assertArrayEquals(new int[0], scalar.shape());
            assertEquals(1, scalar.numel());
            assertEquals(4, scalar.byteLength());
            Tensor s = st.tensor("scalar");
            assertArrayEquals(new int[0], s.shape());
            assertArrayEquals(new float[] {3.5f}, values(s));

            TensorInfo empty = st.info("empty");
            assertEquals(empty.begin(), empty.end());
            assertArrayEquals(new int[] {2, 0, 3}, st.tensor("empty").shape());
            assertEquals(0, st.floats("empty").length);
        }
    }

    @Test
    void bfloat16RoundsToNearestEven() {
        float[] in = {1 + 0x1p-8f, 1 + 3 * 0x1p-8f, 1 + 0x1p-8f + 0x1p-20f, -(1 + 0x1p-8f), Float.NaN,
                Float.NEGATIVE_INFINITY, Float.MAX_VALUE};
        float[] expected = {1f, 1 + 0x1p-6f, 1 + 0x1p-7f, -1f, Float.NaN, Float.NEGATIVE_INFINITY,
                Float.POSITIVE_INFINITY};
        Path file = dir.resolve("bf16.safetensors");
        new SafeTensorsWriter().put("x", Tensor.of(in, in.length), DType.BF16).write(file);
        try (SafeTensors st = SafeTensors.open(file)) {
            assertArrayEquals(expected, st.floats("x"));
        }
    }

    /** Byte-for-byte the output of the Python library's serializer for the same tensors. */
    @Test
    void layoutMatchesThePythonLibraryByteForByte() throws IOException {
        Path one = dir.resolve("one.safetensors");
        new SafeTensorsWriter().put("attn.0", Tensor.of(new float[] {0, 1, 2, 3, 4, 5}, 1, 2, 3)).write(one);
        assertArrayEquals(file("{\"attn.0\":{\"dtype\":\"F32\",\"shape\":[1,2,3],\"data_offsets\":[0,24]}}",
                RawFiles.littleEndianFloats(0, 1, 2, 3, 4, 5)), Files.readAllBytes(one));

        Path padded = dir.resolve("padded.safetensors");
        new SafeTensorsWriter().put("attn0", Tensor.of(new float[] {0, 1, 2, 3, 4, 5}, 1, 1, 2, 3)).write(padded);
        byte[] bytes = Files.readAllBytes(padded);
        assertEquals(72, ByteBuffer.wrap(bytes).order(ByteOrder.LITTLE_ENDIAN).getLong());
        assertArrayEquals(file("{\"attn0\":{\"dtype\":\"F32\",\"shape\":[1,1,2,3],\"data_offsets\":[0,24]}}       ",
                RawFiles.littleEndianFloats(0, 1, 2, 3, 4, 5)), bytes);

        Path meta = dir.resolve("meta.safetensors");
        new SafeTensorsWriter().metadata("framework", "pt").write(meta);
        assertArrayEquals(file("{\"__metadata__\":{\"framework\":\"pt\"}}     ", new byte[0]),
                Files.readAllBytes(meta));

        Path nothing = dir.resolve("nothing.safetensors");
        new SafeTensorsWriter().write(nothing);
        assertArrayEquals(file("{}      ", new byte[0]), Files.readAllBytes(nothing));
        try (SafeTensors st = SafeTensors.open(nothing)) {
            assertTrue(st.keys().isEmpty());
            assertTrue(st.metadata().isEmpty());
        }
    }

    @Test
    void ordersTensorsByDescendingDtypeWidthThenName() throws IOException {
        Path file = dir.resolve("order.safetensors");
        var w = new SafeTensorsWriter()
                .put("a", Tensor.of(new float[] {1}, 1), DType.F16)
                .put("b", Tensor.of(new float[] {1}, 1))
                .putInts("c", new int[] {1}, new int[] {1}, DType.I32)
                .put("d", Tensor.of(new float[] {1}, 1), DType.BF16)
                .putInts("z", new int[] {1}, new int[] {1}, DType.I64)
                .put("B", Tensor.of(new float[] {1}, 1))
                .put("é", Tensor.of(new float[] {1}, 1))
                .put("ab", Tensor.of(new float[] {1}, 1));
        w.write(file);
        try (SafeTensors st = SafeTensors.open(file)) {
            assertEquals(List.of("z", "B", "ab", "b", "é", "c", "d", "a"), List.copyOf(st.keys()));
            assertEquals(0, st.info("z").begin());
            assertEquals(8, st.info("B").begin());
            assertEquals(24, st.info("c").begin());
            assertEquals(28, st.info("d").begin());
        }
        String header = new String(Files.readAllBytes(file), 8, 80, StandardCharsets.UTF_8);
        assertTrue(header.startsWith("{\"z\":{\"dtype\":\"I64\",\"shape\":[1],\"data_offsets\":[0,8]},\"B\":"), header);
    }

    @Test
    void writesContiguousViewsAtAnOffset() {
        float[] backing = {9, 9, 1, 2, 3, 4, 5, 6, 9};
        var view = new Tensor(new CpuStorage(backing), new int[] {2, 1, 3}, new int[] {3, 100, 1}, 2);
        Path file = dir.resolve("view.safetensors");
        new SafeTensorsWriter().put("v", view).write(file);
        try (SafeTensors st = SafeTensors.open(file)) {
            assertArrayEquals(new float[] {1, 2, 3, 4, 5, 6}, st.floats("v"));
            assertArrayEquals(new int[] {2, 1, 3}, st.info("v").shape());
        }
    }

    @Test
    void overwritesAtomicallyAndLeavesNoTemporaryFiles() throws IOException {
        Path file = dir.resolve("ckpt.safetensors");
        SafeTensors.write(file, Map.of("w", Tensor.of(new float[] {1, 2}, 2)), Map.of("step", "1"));
        try (SafeTensors old = SafeTensors.open(file)) {
            SafeTensors.write(file, Map.of("w", Tensor.of(new float[] {3, 4, 5}, 3)), Map.of("step", "2"));
            // The replaced file lives on for readers that mapped it: a checkpoint never pulls data from under them.
            assertArrayEquals(new float[] {1, 2}, old.floats("w"));
        }
        try (SafeTensors st = SafeTensors.open(file)) {
            assertArrayEquals(new float[] {3, 4, 5}, st.floats("w"));
            assertEquals("2", st.metadata().get("step"));
        }
        assertEquals(List.of(file), listDir());
    }

    @Test
    void failedWriteLeavesNoTemporaryFile() throws IOException {
        Path occupied = Files.createDirectory(dir.resolve("occupied.safetensors"));
        Files.writeString(occupied.resolve("keep"), "x");
        var e = assertThrows(SafeTensorsException.class,
                () -> new SafeTensorsWriter().put("w", Tensor.of(new float[] {1}, 1)).write(occupied));
        assertTrue(e.getMessage().contains(occupied.toString()) && e.getMessage().contains("cannot write"),
                e.getMessage());
        assertEquals(List.of(occupied), listDir());

        Path noDir = dir.resolve("missing/dir/x.safetensors");
        e = assertThrows(SafeTensorsException.class, () -> new SafeTensorsWriter().write(noDir));
        assertTrue(e.getMessage().contains(noDir.toString()), e.getMessage());
    }

    @Test
    void rejectsDuplicateReservedAndUnstorableEntries() {
        var w = new SafeTensorsWriter().put("w", Tensor.of(new float[] {1}, 1));
        var dup = assertThrows(IllegalArgumentException.class, () -> w.putInts("w", new int[] {1}, new int[] {1},
                DType.I32));
        assertTrue(dup.getMessage().contains("duplicate tensor name 'w'"));
        assertThrows(IllegalArgumentException.class, () -> w.put("__metadata__", Tensor.of(new float[] {1}, 1)));
        assertThrows(IllegalArgumentException.class, () -> w.put("x", Tensor.of(new float[] {1}, 1), DType.I32));
        assertThrows(IllegalArgumentException.class, () -> w.putInts("y", new int[] {1}, new int[] {1}, DType.F32));
        var shape = assertThrows(IllegalArgumentException.class,
                () -> w.putInts("z", new int[] {1, 2, 3}, new int[] {2, 2}, DType.I32));
        assertTrue(shape.getMessage().contains("[2, 2] needs 4 elements, got 3"), shape.getMessage());
    }

    @Test
    void loadAllKeepsFileOrder() {
        Path file = dir.resolve("all.safetensors");
        var tensors = new LinkedHashMap<String, Tensor>();
        tensors.put("second", Tensor.of(new float[] {2}, 1));
        tensors.put("first", Tensor.of(new float[] {1, 1}, 2));
        SafeTensors.write(file, tensors, Map.of());
        Map<String, Tensor> loaded = SafeTensors.loadAll(file);
        assertEquals(List.of("first", "second"), List.copyOf(loaded.keySet()));
        assertArrayEquals(new float[] {1, 1}, values(loaded.get("first")));
    }

    /**
     * A tensor past the 2 GiB mark of a sparse file: offsets and mapping are 64-bit throughout. The file
     * occupies almost no disk space.
     */
    @Test
    void readsTensorsBeyondTwoGibibytes() throws IOException {
        long pad = (1L << 31) + 16;
        String header = "{\"pad\":{\"dtype\":\"U8\",\"shape\":[2," + (pad / 2) + "],\"data_offsets\":[0," + pad
                + "]},\"x\":{\"dtype\":\"F32\",\"shape\":[4],\"data_offsets\":[" + pad + "," + (pad + 16) + "]}}";
        byte[] headerBytes = header.getBytes(StandardCharsets.UTF_8);
        Path file = dir.resolve("big.safetensors");
        try (FileChannel ch = FileChannel.open(file, StandardOpenOption.CREATE_NEW, StandardOpenOption.WRITE)) {
            ch.write(ByteBuffer.allocate(8).order(ByteOrder.LITTLE_ENDIAN).putLong(0, headerBytes.length));
            ch.write(ByteBuffer.wrap(headerBytes));
            ch.write(ByteBuffer.wrap(RawFiles.littleEndianFloats(1.5f, -2, 3, 1e-3f)), 8 + headerBytes.length + pad);
        }
        assertTrue(Files.size(file) > 1L << 31);
        try (SafeTensors st = SafeTensors.open(file)) {
            assertEquals(pad, st.info("x").begin());
            assertArrayEquals(new float[] {1.5f, -2, 3, 1e-3f}, st.floats("x"));
            var e = assertThrows(SafeTensorsException.class, () -> st.bytes("pad"));
            assertTrue(e.getMessage().contains("'pad'") && e.getMessage().contains("more than a Java array holds"),
                    e.getMessage());
        }
    }

    private List<Path> listDir() throws IOException {
        try (Stream<Path> s = Files.list(dir)) {
            return s.toList();
        }
    }

    private static byte[] file(String header, byte[] data) {
        byte[] h = header.getBytes(StandardCharsets.UTF_8);
        return ByteBuffer.allocate(8 + h.length + data.length).order(ByteOrder.LITTLE_ENDIAN)
                .putLong(h.length).put(h).put(data).array();
    }
}
