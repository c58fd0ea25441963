package io.texforce.tensor.nn;

import io.texforce.tensor.Tensor;
import io.texforce.tensor.WeightDtype;
import io.texforce.tensor.io.SafeTensors;
import io.texforce.tensor.io.SafeTensorsException;

import java.nio.file.Path;
import java.util.Map;
import java.util.Set;

/**
 * Weights from one memory-mapped safetensors file (the shards of a sharded checkpoint are read together through
 * {@link CompositeSource}). Tensors are decoded to float32 on request, so F16/BF16 checkpoints never exist twice in
 * memory as float32; weights asked for in 16 bits are read (or rounded) straight from the mapping without a float32
 * copy.
 */
public final class SafeTensorsSource implements CheckpointSource {
    private final SafeTensors file;

    private SafeTensorsSource(SafeTensors file) {
        this.file = file;
    }

    public static SafeTensorsSource open(Path file) {
        return new SafeTensorsSource(SafeTensors.open(file));
    }

    private SafeTensors file(String key) {
        if (!file.contains(key)) {
            throw new SafeTensorsException("no tensor '" + key + "' in " + file.path());
        }
        return file;
    }

    @Override
    public boolean contains(String key) {
        return file.contains(key);
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
        return file.keys();
    }

    /** The file's {@code __metadata__}. */
    public Map<String, String> metadata() {
        return file.metadata();
    }

    @Override
    public String describe() {
        return file.path().toString();
    }

    @Override
    public void close() {
        file.close();
    }
}
