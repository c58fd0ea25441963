package io.texforce.tensor;

/**
 * A kind of device that {@link Devices#resolve} can open by name, found with {@link java.util.ServiceLoader}: a
 * module that brings a backend lists its provider in {@code META-INF/services/io.texforce.tensor.BackendProvider},
 * so putting its jar on the class path is all a user does to make {@code --device <kind>} work.
 */
public interface BackendProvider {
    /** The device kind, the part of a device spec before the colon: {@code "cuda"} serves "cuda" and "cuda:N". */
    String kind();

    /**
     * The backend for device number {@code ordinal} (the same instance on every call). When the device cannot be
     * used (no driver, no such device, missing libraries) this throws an exception whose message is the reason.
     */
    Backend open(int ordinal);
}
