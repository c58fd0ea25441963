package io.texforce.tensor.nn;

import io.texforce.tensor.Tensor;
import io.texforce.tensor.WeightDtype;
import io.texforce.tensor.io.SafeTensors;
import io.texforce.tensor.io.SafeTensorsException;

import java.nio.file.Path;
import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.Set;

/**
 * Weights from one or more memory-mapped safetensors files (sharded checkpoints are several files). Tensors are
 * decoded to float32 on request, so F16/BF16 checkpoints never exist twice in memory as float32; weights asked for
 * in 16 bits are read (or rounded) straight from the mapping without a float32 copy.
 */
public final class SafeTensorsSource implements CheckpointSource {
    private final List<SafeTensors> files = new ArrayList<>();
    private final Map<String, SafeTensors> byKey = new LinkedHashMap<>();
    private final String description;

    public SafeTensorsSource(List<Path> paths) {
        try {
            for (Path p : paths) {
                SafeTensors st = SafeTensors.open(p);
                files.add(st);
                for (String k : st.keys()) {
                    SafeTensors prev = byKey.putIfAbsent(k, st);
                    if (prev != null) {
                        throw new SafeTensorsException("tensor '" + k + "' appears in both " + prev.path() + " and " + p);
                    }
                }
            }
        } catch (RuntimeException e) {
            close();
            throw e;
        }
        this.description = paths.size() == 1 ? paths.get(0).toString() : paths.toString();
    }

    public static SafeTensorsSource open(Path file) {
        return new SafeTensorsSource(List.of(file));
    }

    private SafeTensors file(String key) {
        SafeTensors st = byKey.get(key);
        if (st == null) {
            throw new SafeTensorsException("no tensor '" + key + "' in " + description);
        }
        return st;
    }

    @Override
    public boolean contains(String key) {
        return byKey.containsKey(key);
    }

    @Override
    public int[] shape(String key) {
        return file(key).info(key).shape();
    }

    @Override
    public Tensor load(String key) {
        return file(key).tensor(key);
    }

    @Override
    public Tensor load(String key, WeightDtype dtype) {
        return file(key).tensor(key, dtype);
    }

    @Override
    public io.texforce.tensor.io.DType storedDType(String key) {
        return file(key).info(key).dtype();
    }

    @Override
    public Set<String> keys() {
        return byKey.keySet();
    }

    /** The {@code __metadata__} of the first file. */
    public Map<String, String> metadata() {
        return files.isEmpty() ? Map.of() : files.get(0).metadata();
    }

    @Override
    public String describe() {
        return description;
    }

    @Override
    public void close() {
        for (SafeTensors st : files) {
            st.close();
        }
    }
}
