package io.texforce.tensor.nn;

/** A layer that can carry LoRA adapters ({@link Linear}, {@link Conv2d}). */
public interface LoraLayer {
    LoraHost lora();
}
