package io.texforce.tensor.nn;

import io.texforce.tensor.io.ComponentWeights;

import java.nio.file.Path;

/** Weights read from checkpoint files, which stay open (memory-mapped, or a zip being read) until closed. */
public interface CheckpointSource extends WeightSource, AutoCloseable {
    @Override
    void close();

    /**
     * The weights of a diffusers/transformers component folder saved under {@code stem} ({@code model},
     * {@code diffusion_pytorch_model}) in {@code variant} (null: the plain weights, or the folder's only variant):
     * safetensors files, or, where a folder has none, PyTorch pickles ({@code pytorch_model.bin},
     * {@code diffusion_pytorch_model.bin}, read without running them). See {@link ComponentWeights}.
     */
    static CheckpointSource openComponent(Path dir, String stem, String variant) {
        return ComponentWeights.find(dir, stem, variant).open();
    }
}
