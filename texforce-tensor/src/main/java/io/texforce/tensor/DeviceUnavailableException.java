package io.texforce.tensor;

/** A device spec names an unknown device, or a device this machine cannot use; the message says which and why. */
public final class DeviceUnavailableException extends RuntimeException {
    private final String spec;
    private final String reason;

    public DeviceUnavailableException(String spec, String reason, Throwable cause) {
        super("device '" + spec + "' is not available: " + reason, cause);
        this.spec = spec;
        this.reason = reason;
    }

    /** The device spec as the user wrote it. */
    public String spec() {
        return spec;
    }

    /** Why the device cannot be used, without the spec. */
    public String reason() {
        return reason;
    }
}
