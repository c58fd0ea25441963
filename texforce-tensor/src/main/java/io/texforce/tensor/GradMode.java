package io.texforce.tensor;

/**
 * Whether operations record autograd nodes on the current thread. Use {@link #noGrad()} in a
 * try-with-resources block for inference and optimizer updates:
 * <pre>{@code try (var g = GradMode.noGrad()) { ... } }</pre>
 */
public final class GradMode {
    private static final ThreadLocal<boolean[]> ENABLED = ThreadLocal.withInitial(() -> new boolean[]{true});

    private GradMode() {
    }

    public static boolean isEnabled() {
        return ENABLED.get()[0];
    }

    /** Disables recording until the returned scope is closed; scopes nest. */
    public static Scope noGrad() {
        return set(false);
    }

    /** Enables recording until the returned scope is closed (e.g. a trainable section inside inference). */
    public static Scope enableGrad() {
        return set(true);
    }

    private static Scope set(boolean enabled) {
        boolean[] flag = ENABLED.get();
        boolean previous = flag[0];
        flag[0] = enabled;
        return () -> flag[0] = previous;
    }

    /** Restores the previous mode on close. */
    @FunctionalInterface
    public interface Scope extends AutoCloseable {
        @Override
        void close();
    }
}
