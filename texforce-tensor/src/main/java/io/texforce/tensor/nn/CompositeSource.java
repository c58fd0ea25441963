package io.texforce.tensor.nn;

import io.texforce.tensor.Tensor;
import io.texforce.tensor.WeightDtype;
import io.texforce.tensor.io.DType;

import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.Set;

/** Several checkpoint files read as one (the shards of a sharded checkpoint); a key may be in one only. */
public final class CompositeSource implements CheckpointSource {
    private final List<CheckpointSource> parts;
    private final Map<String, CheckpointSource> byKey = new LinkedHashMap<>();

    public CompositeSource(List<CheckpointSource> parts) {
        this.parts = List.copyOf(parts);
        try {
            for (CheckpointSource p : parts) {
                for (String k : p.keys()) {
                    CheckpointSource prev = byKey.putIfAbsent(k, p);
                    if (prev != null) {
                        throw new IllegalArgumentException("tensor '" + k + "' appears in both " + prev.describe()
                                + " and " + p.describe());
                    }
                }
            }
        } catch (RuntimeException e) {
            close();
            throw e;
        }
    }

    private CheckpointSource part(String key) {
        CheckpointSource p = byKey.get(key);
        if (p == null) {
            throw new IllegalArgumentException("no tensor '" + key + "' in " + describe());
        }
        return p;
    }

    @Override
    public boolean contains(String key) {
        return byKey.containsKey(key);
    }

    @Override
    public int[] shape(String key) {
        return part(key).shape(key);
    }

    @Override
    public Tensor load(String key) {
        return part(key).load(key);
    }

    @Override
    public Tensor load(String key, WeightDtype dtype) {
        return part(key).load(key, dtype);
    }

    @Override
    public DType storedDType(String key) {
        return part(key).storedDType(key);
    }

    @Override
    public Set<String> keys() {
        return byKey.keySet();
    }

    @Override
    public String describe() {
        return parts.stream().map(WeightSource::describe).toList().toString();
    }

    @Override
    public void close() {
        for (CheckpointSource p : parts) {
            p.close();
        }
    }
}
