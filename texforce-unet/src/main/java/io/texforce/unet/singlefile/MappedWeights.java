package io.texforce.unet.singlefile;

import io.texforce.tensor.Tensor;
import io.texforce.tensor.io.DType;
import io.texforce.tensor.nn.WeightSource;

import java.util.Arrays;
import java.util.LinkedHashMap;
import java.util.Map;
import java.util.Set;

/**
 * One component's weights under diffusers' names, read from a single-file checkpoint under its original names:
 * each entry is a source key, whole, reshaped (a 1x1 convolution kernel read as a linear weight) or a block of rows
 * (OpenCLIP's fused q/k/v projection read as three). Nothing is read until asked for.
 */
final class MappedWeights implements WeightSource {
    /** Where one diffusers tensor comes from: rows [rowStart, rowStart + rows) of {@code source}, or all when rows < 0. */
    private record Entry(String source, int rowStart, int rows, boolean squeeze) {
    }

    private final WeightSource source;
    private final String description;
    private final Map<String, Entry> entries = new LinkedHashMap<>();

    MappedWeights(WeightSource source, String description) {
        this.source = source;
        this.description = description;
    }

    void put(String key, String sourceKey) {
        add(key, new Entry(sourceKey, 0, -1, false));
    }

    /** A 1x1 convolution kernel [out, in, 1, 1] read as a linear weight [out, in] (1-D tensors pass unchanged). */
    void putSqueezed(String key, String sourceKey) {
        add(key, new Entry(sourceKey, 0, -1, source.shape(sourceKey).length == 4));
    }

    void putRows(String key, String sourceKey, int rowStart, int rows) {
        add(key, new Entry(sourceKey, rowStart, rows, false));
    }

    private void add(String key, Entry e) {
        Entry prev = entries.putIfAbsent(key, e);
        if (prev != null) {
            throw new IllegalArgumentException(description + ": both '" + prev.source() + "' and '" + e.source()
                    + "' map to '" + key + "'");
        }
    }

    boolean isEmpty() {
        return entries.isEmpty();
    }

    private Entry entry(String key) {
        Entry e = entries.get(key);
        if (e == null) {
            throw new IllegalArgumentException("no tensor '" + key + "' in " + description);
        }
        return e;
    }

    @Override
    public boolean contains(String key) {
        return entries.containsKey(key);
    }

    @Override
    public int[] shape(String key) {
        Entry e = entry(key);
        int[] s = source.shape(e.source());
        if (e.squeeze()) {
            return new int[]{s[0], s[1]};
        }
        if (e.rows() >= 0) {
            int[] out = s.clone();
            out[0] = e.rows();
            return out;
        }
        return s;
    }

    @Override
    public Tensor load(String key) {
        Entry e = entry(key);
        Tensor t = source.load(e.source());
        if (e.squeeze()) {
            return t.reshape(shape(key));
        }
        if (e.rows() >= 0) {
            int[] s = t.shape();
            if (e.rowStart() + e.rows() > s[0]) {
                throw new IllegalArgumentException(description + ": '" + e.source() + "' of shape " + Arrays.toString(s)
                        + " has no rows " + e.rowStart() + " to " + (e.rowStart() + e.rows()));
            }
            return t.narrow(0, e.rowStart(), e.rows()).contiguous();
        }
        return t;
    }

    @Override
    public DType storedDType(String key) {
        return source.storedDType(entry(key).source());
    }

    @Override
    public Set<String> keys() {
        return entries.keySet();
    }

    @Override
    public String describe() {
        return description;
    }
}
