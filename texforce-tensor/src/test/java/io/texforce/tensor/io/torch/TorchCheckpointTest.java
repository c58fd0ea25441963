package io.texforce.tensor.io.torch;

import io.texforce.tensor.TestData;
import io.texforce.tensor.io.DType;
import io.texforce.tensor.io.SafeTensors;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

import java.io.ByteArrayInputStream;
import java.io.ByteArrayOutputStream;
import java.io.IOException;
import java.nio.charset.StandardCharsets;
import java.nio.file.Path;
import java.util.List;
import java.util.Map;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

class TorchCheckpointTest {
    private static final Path DIR = TestData.tinyClip();

    @TempDir
    Path tmp;

    @Test
    void zipCheckpointHoldsTheSafetensorsWeights() {
        try (TorchCheckpoint pt = TorchCheckpoint.open(DIR.resolve("aesthetic_mlp.pth"));
             SafeTensors st = SafeTensors.open(DIR.resolve("aesthetic_mlp.safetensors"))) {
            assertEquals(st.keys(), pt.keys());
            for (String k : st.keys()) {
                assertArrayEquals(st.info(k).shape(), pt.shape(k), k);
                assertArrayEquals(st.floats(k), pt.floats(k), 0f, k);
                assertEquals(StorageType.FLOAT, pt.tensors().get(k).type());
            }
        }
    }

    @Test
    void legacyHalfCheckpointHoldsTheWeightsRoundedToHalf() {
        try (TorchCheckpoint pt = TorchCheckpoint.open(DIR.resolve("aesthetic_mlp_fp16_legacy.pth"));
             SafeTensors st = SafeTensors.open(DIR.resolve("aesthetic_mlp.safetensors"))) {
            assertEquals(st.keys(), pt.keys());
            for (String k : st.keys()) {
                assertEquals(StorageType.HALF, pt.tensors().get(k).type());
                float[] full = st.floats(k), half = pt.floats(k);
                for (int i = 0; i < full.length; i++) {
                    assertEquals(Float.float16ToFloat(Float.floatToFloat16(full[i])), half[i], 0f, k + "[" + i + "]");
                }
            }
        }
    }

    @Test
    void trainingCheckpointExposesItsStateDictAndKeepsOtherValues() {
        try (TorchCheckpoint pt = TorchCheckpoint.open(DIR.resolve("open_clip_model.pt"));
             SafeTensors st = SafeTensors.open(DIR.resolve("open_clip_model.safetensors"))) {
            assertEquals(st.keys(), pt.keys());
            assertEquals(3L, ((Map<?, ?>) pt.root()).get("epoch"));
            String k = "visual.transformer.resblocks.1.attn.in_proj_weight";
            assertArrayEquals(st.floats(k), pt.floats(k), 0f);
        }
    }

    @Test
    void convertsZipAndLegacyCheckpointsToSafetensors() {
        for (String name : List.of("aesthetic_mlp.pth", "aesthetic_mlp_fp16_legacy.pth", "open_clip_model.pt")) {
            Path out = tmp.resolve(name + ".safetensors");
            try (TorchCheckpoint pt = TorchCheckpoint.open(DIR.resolve(name))) {
                pt.writeSafeTensors(out);
                try (SafeTensors st = SafeTensors.open(out)) {
                    assertEquals(pt.keys(), st.keys());
                    for (String k : pt.keys()) {
                        assertEquals(pt.tensors().get(k).type().dtype(), st.info(k).dtype(), k);
                        assertArrayEquals(pt.floats(k), st.floats(k), 0f, k);
                    }
                    assertEquals("pt", st.metadata().get("format"));
                }
            }
        }
    }

    @Test
    void forbiddenGlobalIsRefusedByName() {
        PickleException e = assertThrows(PickleException.class,
                () -> TorchCheckpoint.open(DIR.resolve("forbidden_global.pth")));
        assertTrue(e.getMessage().contains("'posix.system'"), e.getMessage());
        assertTrue(e.getMessage().contains("forbidden_global.pth"), e.getMessage());
    }

    /** A protocol-2 pickle of {@code body} (opcodes) with a STOP. */
    private static byte[] pickle(String body) {
        ByteArrayOutputStream b = new ByteArrayOutputStream();
        b.write(0x80);
        b.write(2);
        b.writeBytes(body.getBytes(StandardCharsets.ISO_8859_1));
        b.write('.');
        return b.toByteArray();
    }

    private static Object read(byte[] pickle) throws IOException {
        PickleReader r = new PickleReader(Map.of(), pid -> {
            throw new AssertionError("no persistent ids here");
        }, "test.pkl");
        return r.read(new ByteArrayInputStream(pickle));
    }

    @Test
    void readsPlainContainersAndPrimitives() throws IOException {
        // {'a': [1, -2, 3.5, None, True], 'b': (u'x', b'yz')}
        String body = "}(X\u0001\u0000\u0000\u0000a]q\u0000(K\u0001J\u00fe\u00ff\u00ff\u00ffG@\f\u0000\u0000\u0000\u0000"
                + "\u0000\u0000N\u0088eX\u0001\u0000\u0000\u0000bX\u0001\u0000\u0000\u0000xC\u0002yz\u0086u";
        Map<?, ?> m = (Map<?, ?>) read(pickle(body));
        List<?> a = (List<?>) m.get("a");
        assertEquals(List.of(1L, -2L, 3.5), a.subList(0, 3));
        assertEquals(null, a.get(3));
        assertEquals(Boolean.TRUE, a.get(4));
        List<?> b = (List<?>) m.get("b");
        assertEquals("x", b.get(0));
        assertArrayEquals("yz".getBytes(StandardCharsets.US_ASCII), (byte[]) b.get(1));
    }

    @Test
    void refusesUnknownGlobalsAndObjectConstruction() {
        PickleException g = assertThrows(PickleException.class, () -> read(pickle("cbuiltins\neval\n")));
        assertTrue(g.getMessage().contains("'builtins.eval'"), g.getMessage());
        PickleException s = assertThrows(PickleException.class,
                () -> read(pickle("X\u0008\u0000\u0000\u0000builtinsX\u0004\u0000\u0000\u0000exec\u0093")));
        assertTrue(s.getMessage().contains("'builtins.exec'"), s.getMessage());
        PickleException n = assertThrows(PickleException.class, () -> read(pickle("N)\u0081")));
        assertTrue(n.getMessage().contains("not allowed"), n.getMessage());
    }

    @Test
    void rejectsFilesThatAreNotCheckpoints() throws IOException {
        Path junk = java.nio.file.Files.writeString(tmp.resolve("junk.pt"), "hello");
        PickleException e = assertThrows(PickleException.class, () -> TorchCheckpoint.open(junk));
        assertTrue(e.getMessage().contains("junk.pt"), e.getMessage());
    }

    @Test
    void floatDtypesMapToSafetensorsTypes() {
        assertEquals(DType.F16, StorageType.HALF.dtype());
        assertEquals(2, StorageType.BFLOAT16.elementSize());
    }
}
