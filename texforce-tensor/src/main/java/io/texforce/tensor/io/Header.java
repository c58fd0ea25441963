package io.texforce.tensor.io;

import com.fasterxml.jackson.core.JacksonException;
import com.fasterxml.jackson.core.StreamReadFeature;
import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.json.JsonMapper;

import java.io.IOException;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.Collections;
import java.util.Comparator;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;

/**
 * The parsed and validated JSON header of a safetensors file: tensor entries in data order plus the free-form
 * {@code __metadata__} strings.
 *
 * <p>Validation is what makes reading an untrusted file safe: every range lies inside the data buffer, matches
 * its shape and dtype exactly, and no two ranges overlap. Unlike the Python library we accept gaps between
 * tensors and trailing bytes, which are harmless.
 */
record Header(Map<String, TensorInfo> tensors, Map<String, String> metadata) {
    static final String METADATA_KEY = "__metadata__";

    private static final JsonMapper JSON = JsonMapper.builder()
            .enable(StreamReadFeature.STRICT_DUPLICATE_DETECTION)
            .build();

    /** Parses {@code json}, checking every entry against a data buffer of {@code bufferLength} bytes. */
    static Header parse(Path file, byte[] json, long bufferLength) {
        JsonNode root;
        try {
            root = JSON.readTree(json);
        } catch (IOException e) {
            String reason = e instanceof JacksonException j ? j.getOriginalMessage() : e.toString();
            throw new SafeTensorsException(file + ": header is not valid JSON: " + reason, e);
        }
        if (root == null || !root.isObject()) {
            throw new SafeTensorsException(file + ": header must be a JSON object, found "
                    + (root == null ? "nothing" : root.getNodeType().toString().toLowerCase()));
        }
        var entries = new ArrayList<TensorInfo>();
        Map<String, String> metadata = Map.of();
        for (var field : root.properties()) {
            if (field.getKey().equals(METADATA_KEY)) {
                metadata = parseMetadata(file, field.getValue());
            } else {
                entries.add(parseEntry(file, field.getKey(), field.getValue(), bufferLength));
            }
        }
        entries.sort(Comparator.comparingLong(TensorInfo::begin).thenComparingLong(TensorInfo::end));
        for (int i = 1; i < entries.size(); i++) {
            TensorInfo prev = entries.get(i - 1);
            TensorInfo cur = entries.get(i);
            if (cur.begin() < prev.end()) {
                throw new SafeTensorsException(file + ": tensors '" + prev.name() + "' (bytes [" + prev.begin() + ", "
                        + prev.end() + ")) and '" + cur.name() + "' (bytes [" + cur.begin() + ", " + cur.end()
                        + ")) overlap");
            }
        }
        var tensors = new LinkedHashMap<String, TensorInfo>();
        for (TensorInfo e : entries) {
            tensors.put(e.name(), e);
        }
        return new Header(Collections.unmodifiableMap(tensors), metadata);
    }

    private static Map<String, String> parseMetadata(Path file, JsonNode node) {
        if (!node.isObject()) {
            throw new SafeTensorsException(file + ": " + METADATA_KEY + " must be an object of strings, found "
                    + node.getNodeType().toString().toLowerCase());
        }
        var metadata = new LinkedHashMap<String, String>();
        for (var field : node.properties()) {
            if (!field.getValue().isTextual()) {
                throw new SafeTensorsException(file + ": " + METADATA_KEY + " value of '" + field.getKey()
                        + "' must be a string, found " + field.getValue());
            }
            metadata.put(field.getKey(), field.getValue().asText());
        }
        return Collections.unmodifiableMap(metadata);
    }

    private static TensorInfo parseEntry(Path file, String name, JsonNode node, long bufferLength) {
        String where = file + ": tensor '" + name + "'";
        if (!node.isObject()) {
            throw new SafeTensorsException(where + ": entry must be an object with dtype, shape and data_offsets, found "
                    + node);
        }
        for (var required : List.of("dtype", "shape", "data_offsets")) {
            if (!node.has(required)) {
                throw new SafeTensorsException(where + ": entry is missing '" + required + "': " + node);
            }
        }
        JsonNode dtypeNode = node.get("dtype");
        if (!dtypeNode.isTextual()) {
            throw new SafeTensorsException(where + ": dtype must be a string, found " + dtypeNode);
        }
        DType dtype = DType.fromHeader(dtypeNode.asText()).orElseThrow(() -> new SafeTensorsException(where
                + ": unsupported dtype '" + dtypeNode.asText() + "' (supported: " + Arrays.toString(DType.values())
                + ")"));
        int[] shape = shape(where, node.get("shape"));
        long[] offsets = offsets(where, node.get("data_offsets"));
        long begin = offsets[0];
        long end = offsets[1];
        if (end < begin) {
            throw new SafeTensorsException(where + ": data_offsets [" + begin + ", " + end + "] end before begin");
        }
        if (end > bufferLength) {
            throw new SafeTensorsException(where + ": data_offsets [" + begin + ", " + end
                    + "] extend beyond the data buffer of " + bufferLength + " bytes");
        }
        long expected;
        try {
            long numel = 1;
            for (int d : shape) {
                numel = Math.multiplyExact(numel, d);
            }
            expected = Math.multiplyExact(numel, dtype.byteSize());
        } catch (ArithmeticException e) {
            throw new SafeTensorsException(where + ": shape " + Arrays.toString(shape) + " overflows", e);
        }
        if (end - begin != expected) {
            throw new SafeTensorsException(where + ": " + dtype + Arrays.toString(shape) + " needs " + expected
                    + " bytes but data_offsets [" + begin + ", " + end + "] hold " + (end - begin));
        }
        return new TensorInfo(name, dtype, shape, begin, end);
    }

    private static int[] shape(String where, JsonNode node) {
        if (!node.isArray()) {
            throw new SafeTensorsException(where + ": shape must be an array of integers, found " + node);
        }
        int[] out = new int[node.size()];
        for (int i = 0; i < out.length; i++) {
            JsonNode v = node.get(i);
            if (!v.isIntegralNumber() || !v.canConvertToInt() || v.asInt() < 0) {
                throw new SafeTensorsException(where + ": shape " + node + " must hold integers in [0, 2^31-1]");
            }
            out[i] = v.asInt();
        }
        return out;
    }

    private static long[] offsets(String where, JsonNode node) {
        if (!node.isArray() || node.size() != 2) {
            throw new SafeTensorsException(where + ": data_offsets must be [begin, end], found " + node);
        }
        long[] out = new long[2];
        for (int i = 0; i < 2; i++) {
            JsonNode v = node.get(i);
            if (!v.isIntegralNumber() || !v.canConvertToLong() || v.asLong() < 0) {
                throw new SafeTensorsException(where + ": data_offsets " + node + " must be non-negative integers");
            }
            out[i] = v.asLong();
        }
        return out;
    }
}
