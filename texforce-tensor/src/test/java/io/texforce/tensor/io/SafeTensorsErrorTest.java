package io.texforce.tensor.io;

import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

import java.io.IOException;
import java.io.UncheckedIOException;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;

import static io.texforce.tensor.io.RawFiles.littleEndianLongs;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

/** Every malformed file is rejected with a message naming the file and what is wrong with it. */
class SafeTensorsErrorTest {
    @TempDir
    Path dir;

    @Test
    void truncatedFile() {
        Path cut = dir.resolve("cut.safetensors");
        writeBytes(cut, new byte[] {1, 0, 0, 0, 0});
        assertOpenFails(cut, "truncated", "5 bytes");
    }

    @Test
    void headerLengthBeyondFile() {
        Path file = RawFiles.write(dir.resolve("a.safetensors"), 1000, "{}".getBytes(StandardCharsets.UTF_8),
                new byte[8]);
        assertOpenFails(file, "header length 1000", "18-byte file");
        Path huge = RawFiles.write(dir.resolve("b.safetensors"), -1, new byte[0], new byte[0]);
        assertOpenFails(huge, "header length 18446744073709551615");
    }

    @Test
    void invalidJson() {
        Path file = RawFiles.write(dir.resolve("bad.safetensors"), "{\"a\": {\"dtype\": ", new byte[0]);
        assertOpenFails(file, "not valid JSON");
        Path dup = RawFiles.write(dir.resolve("dup.safetensors"),
                "{\"a\":{\"dtype\":\"U8\",\"shape\":[1],\"data_offsets\":[0,1]},"
                        + "\"a\":{\"dtype\":\"U8\",\"shape\":[1],\"data_offsets\":[1,2]}}", new byte[2]);
        assertOpenFails(dup, "not valid JSON", "Duplicate field 'a'");
    }

    @Test
    void headerNotAnObjectOrEntryIncomplete() {
        assertOpenFails(RawFiles.write(dir.resolve("array.safetensors"), "[1, 2]", new byte[0]),
                "must be a JSON object", "array");
        assertOpenFails(RawFiles.write(dir.resolve("empty.safetensors"), "", new byte[0]),
                "must be a JSON object");
        assertOpenFails(RawFiles.write(dir.resolve("missing.safetensors"),
                "{\"w\":{\"dtype\":\"F32\",\"shape\":[1]}}", new byte[4]), "tensor 'w'", "missing 'data_offsets'");
        assertOpenFails(RawFiles.write(dir.resolve("entry.safetensors"), "{\"w\":7}", new byte[0]),
                "tensor 'w'", "must be an object");
        assertOpenFails(RawFiles.write(dir.resolve("shape.safetensors"),
                "{\"w\":{\"dtype\":\"F32\",\"shape\":[-1],\"data_offsets\":[0,4]}}", new byte[4]),
                "tensor 'w'", "shape [-1]");
        assertOpenFails(RawFiles.write(dir.resolve("offsets.safetensors"),
                "{\"w\":{\"dtype\":\"F32\",\"shape\":[1],\"data_offsets\":[0]}}", new byte[4]),
                "tensor 'w'", "data_offsets must be [begin, end]");
        assertOpenFails(RawFiles.write(dir.resolve("meta.safetensors"), "{\"__metadata__\":{\"epoch\":3}}",
                new byte[0]), "__metadata__ value of 'epoch' must be a string");
    }

    @Test
    void offsetsOutOfRange() {
        assertOpenFails(RawFiles.write(dir.resolve("beyond.safetensors"),
                        "{\"w\":{\"dtype\":\"F32\",\"shape\":[4],\"data_offsets\":[0,16]}}", new byte[8]),
                "tensor 'w'", "[0, 16]", "beyond the data buffer of 8 bytes");
        assertOpenFails(RawFiles.write(dir.resolve("reversed.safetensors"),
                        "{\"w\":{\"dtype\":\"F32\",\"shape\":[1],\"data_offsets\":[8,4]}}", new byte[8]),
                "tensor 'w'", "[8, 4]", "end before begin");
    }

    @Test
    void overlappingTensors() {
        Path file = RawFiles.write(dir.resolve("overlap.safetensors"),
                "{\"a\":{\"dtype\":\"F32\",\"shape\":[2],\"data_offsets\":[0,8]},"
                        + "\"b\":{\"dtype\":\"F32\",\"shape\":[2],\"data_offsets\":[4,12]}}", new byte[12]);
        assertOpenFails(file, "'a' (bytes [0, 8))", "'b' (bytes [4, 12))", "overlap");
    }

    @Test
    void unknownDtype() {
        Path file = RawFiles.write(dir.resolve("fp8.safetensors"),
                "{\"w\":{\"dtype\":\"F8_E4M3\",\"shape\":[2],\"data_offsets\":[0,2]}}", new byte[2]);
        assertOpenFails(file, "tensor 'w'", "unsupported dtype 'F8_E4M3'");
    }

    @Test
    void shapeDoesNotMatchByteLength() {
        Path file = RawFiles.write(dir.resolve("size.safetensors"),
                "{\"w\":{\"dtype\":\"F32\",\"shape\":[3],\"data_offsets\":[0,8]}}", new byte[8]);
        assertOpenFails(file, "tensor 'w'", "F32[3] needs 12 bytes", "[0, 8] hold 8");
    }

    @Test
    void missingKeyListsSimilarNames() {
        Path file = RawFiles.write(dir.resolve("keys.safetensors"),
                "{\"layer.0.weight\":{\"dtype\":\"U8\",\"shape\":[1],\"data_offsets\":[0,1]},"
                        + "\"layer.0.bias\":{\"dtype\":\"U8\",\"shape\":[1],\"data_offsets\":[1,2]},"
                        + "\"other\":{\"dtype\":\"U8\",\"shape\":[1],\"data_offsets\":[2,3]}}", new byte[3]);
        try (SafeTensors st = SafeTensors.open(file)) {
            var e = assertThrows(SafeTensorsException.class, () -> st.tensor("layer.0.weights"));
            assertMessage(e, file.toString(), "no tensor 'layer.0.weights'", "has 3 tensors",
                    "e.g. 'layer.0.weight', 'layer.0.bias', 'other'");
            assertThrows(SafeTensorsException.class, () -> st.info("nope"));
        }
    }

    @Test
    void int64OutsideIntRange() {
        Path file = RawFiles.write(dir.resolve("ids.safetensors"),
                "{\"ids\":{\"dtype\":\"I64\",\"shape\":[3],\"data_offsets\":[0,24]}}",
                littleEndianLongs(1, -2, 1L << 40));
        try (SafeTensors st = SafeTensors.open(file)) {
            var e = assertThrows(SafeTensorsException.class, () -> st.ints("ids"));
            assertMessage(e, file.toString(), "tensor 'ids'", "I64[3]", "element 2 = 1099511627776");
        }
    }

    @Test
    void intsOfAFloatTensorAndReadsAfterClose() {
        Path file = RawFiles.write(dir.resolve("f.safetensors"),
                "{\"w\":{\"dtype\":\"F32\",\"shape\":[1],\"data_offsets\":[0,4]}}", new byte[4]);
        SafeTensors st = SafeTensors.open(file);
        assertMessage(assertThrows(SafeTensorsException.class, () -> st.ints("w")), "tensor 'w' has dtype F32");
        st.close();
        assertMessage(assertThrows(SafeTensorsException.class, () -> st.floats("w")), "already closed", "'w'");
    }

    @Test
    void missingFile() {
        Path file = dir.resolve("absent.safetensors");
        assertOpenFails(file, "cannot read");
    }

    private static void assertOpenFails(Path file, String... fragments) {
        var e = assertThrows(SafeTensorsException.class, () -> SafeTensors.open(file).close());
        String[] all = new String[fragments.length + 1];
        all[0] = file.toString();
        System.arraycopy(fragments, 0, all, 1, fragments.length);
        assertMessage(e, all);
    }

    private static void assertMessage(Exception e, String... fragments) {
        for (String f : fragments) {
            assertTrue(e.getMessage().contains(f), "message lacks \"" + f + "\": " + e.getMessage());
        }
    }

    private static void writeBytes(Path file, byte[] bytes) {
        try {
            Files.write(file, bytes);
        } catch (IOException e) {
            throw new UncheckedIOException(e);
        }
    }
}
