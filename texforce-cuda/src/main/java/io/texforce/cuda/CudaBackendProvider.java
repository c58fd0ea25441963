package io.texforce.cuda;

import io.texforce.tensor.Backend;
import io.texforce.tensor.BackendProvider;

/**
 * Serves {@code "cuda"} and {@code "cuda:N"} to {@link io.texforce.tensor.Devices#resolve}; registered in
 * {@code META-INF/services}. Without a driver or GPU it throws {@link CudaUnavailableException}, whose message
 * becomes the reason the device is unavailable.
 */
public final class CudaBackendProvider implements BackendProvider {
    @Override
    public String kind() {
        return "cuda";
    }

    @Override
    public Backend open(int ordinal) {
        return CudaBackend.get(ordinal);
    }
}
