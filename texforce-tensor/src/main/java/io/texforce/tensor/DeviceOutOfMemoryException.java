package io.texforce.tensor;

/**
 * A device had no memory left for a tensor, even after giving back what its caches held. The message names the
 * device, the request and what was in use, and what usually helps (activation checkpointing, smaller batches,
 * 16-bit frozen weights).
 */
public class DeviceOutOfMemoryException extends RuntimeException {
    private final String device;
    private final long requestedBytes;

    public DeviceOutOfMemoryException(String device, long requestedBytes, String message) {
        super(message);
        this.device = device;
        this.requestedBytes = requestedBytes;
    }

    /** The device's name, e.g. {@code cuda:0}. */
    public String device() {
        return device;
    }

    /** The size of the allocation that failed. */
    public long requestedBytes() {
        return requestedBytes;
    }
}
