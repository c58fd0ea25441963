package io.texforce.cuda;

/** No usable CUDA driver or GPU on this machine; the message says which part is missing. */
public final class CudaUnavailableException extends CudaException {
    public CudaUnavailableException(String message) {
        super(message);
    }

    public CudaUnavailableException(String message, Throwable cause) {
        super(message, cause);
    }
}
