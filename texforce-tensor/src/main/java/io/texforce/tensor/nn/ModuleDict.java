package io.texforce.tensor.nn;

/**
 * Children under arbitrary names, for checkpoint layouts with gaps (diffusers' {@code ff.net.0} / {@code ff.net.2}
 * around a parameterless dropout, {@code to_out.0}).
 */
public final class ModuleDict extends Module {
    public <M extends Module> M put(String name, M m) {
        return child(name, m);
    }

    @SuppressWarnings("unchecked")
    public <M extends Module> M get(String name) {
        return (M) children().get(name);
    }
}
