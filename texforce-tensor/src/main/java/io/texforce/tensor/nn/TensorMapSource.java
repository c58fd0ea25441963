package io.texforce.tensor.nn;

import io.texforce.tensor.Tensor;

import java.util.Map;
import java.util.Set;

/** Weights held in memory by name (tests, converted checkpoints). */
public final class TensorMapSource implements WeightSource {
    private final Map<String, Tensor> tensors;
    private final String name;

    public TensorMapSource(Map<String, Tensor> tensors, String name) {
        this.tensors = tensors;
        this.name = name;
    }

    @Override
    public boolean contains(String key) {
        return tensors.containsKey(key);
    }

    @Override
    public int[] shape(String key) {
        return tensors.get(key).shape();
    }

    @Override
    public Tensor load(String key) {
        return tensors.get(key);
    }

    @Override
    public Set<String> keys() {
        return tensors.keySet();
    }

    @Override
    public String describe() {
        return name;
    }
}
