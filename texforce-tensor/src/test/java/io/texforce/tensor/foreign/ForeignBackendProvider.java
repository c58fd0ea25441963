package io.texforce.tensor.foreign;

import io.texforce.tensor.Backend;
import io.texforce.tensor.BackendProvider;

/** Makes {@code --device foreign} resolve on test class paths, so command-line tests can run on the stand-in. */
public final class ForeignBackendProvider implements BackendProvider {
    @Override
    public String kind() {
        return "foreign";
    }

    @Override
    public Backend open(int ordinal) {
        if (ordinal != 0) {
            throw new IllegalArgumentException("the foreign test backend has only device 0");
        }
        return ForeignBackend.INSTANCE;
    }
}
