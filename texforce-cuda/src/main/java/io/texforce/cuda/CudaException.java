package io.texforce.cuda;

/** A CUDA driver or cuBLAS call that failed, or a GPU that cannot be used; the message names the call and code. */
public class CudaException extends RuntimeException {
    public CudaException(String message) {
        super(message);
    }

    public CudaException(String message, Throwable cause) {
        super(message, cause);
    }
}
