package io.texforce.tensor.io.torch;

/** A pickle this reader will not or cannot load: a forbidden global, an unsupported opcode, or a damaged file. */
public final class PickleException extends IllegalArgumentException {
    public PickleException(String message) {
        super(message);
    }

    public PickleException(String message, Throwable cause) {
        super(message, cause);
    }
}
