package io.texforce.tensor;

import io.texforce.tensor.cpu.CpuBackend;

import java.util.ArrayList;
import java.util.List;
import java.util.ServiceConfigurationError;
import java.util.ServiceLoader;
import java.util.TreeSet;

/**
 * Picks a backend by name at run time: {@code "cpu"} (always there, the reference), or {@code "<kind>"} /
 * {@code "<kind>:N"} for a device kind that a {@link BackendProvider} on the class path serves, such as
 * {@code "cuda"} (GPU 0) and {@code "cuda:1"}.
 */
public final class Devices {
    private Devices() {
    }

    /**
     * The backend named by {@code spec}; throws {@link DeviceUnavailableException} naming the spec and the reason
     * when the spec is malformed, no provider serves its kind, or the provider cannot open the device.
     */
    public static Backend resolve(String spec) {
        if (spec == null || spec.isBlank()) {
            throw new DeviceUnavailableException(String.valueOf(spec), "empty device name (expected cpu, cuda or"
                    + " cuda:N)", null);
        }
        String s = spec.trim().toLowerCase(java.util.Locale.ROOT);
        int colon = s.indexOf(':');
        String kind = colon < 0 ? s : s.substring(0, colon);
        int ordinal = colon < 0 ? 0 : ordinal(spec, s.substring(colon + 1));
        if (kind.equals("cpu")) {
            if (ordinal != 0) {
                throw new DeviceUnavailableException(spec, "there is one CPU device, cpu:0", null);
            }
            return CpuBackend.INSTANCE;
        }
        List<BackendProvider> providers;
        try {
            providers = providers();
        } catch (ServiceConfigurationError e) {
            throw new DeviceUnavailableException(spec, "a backend provider on the class path failed to load: "
                    + e.getMessage(), e);
        }
        for (BackendProvider p : providers) {
            if (p.kind().equals(kind)) {
                try {
                    return p.open(ordinal);
                } catch (RuntimeException | LinkageError e) {
                    throw new DeviceUnavailableException(spec, String.valueOf(e.getMessage()), e);
                }
            }
        }
        TreeSet<String> known = new TreeSet<>(kinds(providers));
        String hint = kind.equals("cuda") ? " (texforce-cuda is not on the class path)" : "";
        throw new DeviceUnavailableException(spec, "unknown device kind '" + kind + "'" + hint + "; known: "
                + String.join(", ", known), null);
    }

    /** The device kinds this class path offers: "cpu" and every provider's kind. */
    public static List<String> kinds() {
        return kinds(providers());
    }

    private static List<String> kinds(List<BackendProvider> providers) {
        List<String> out = new ArrayList<>();
        out.add("cpu");
        for (BackendProvider p : providers) {
            out.add(p.kind());
        }
        return out;
    }

    private static List<BackendProvider> providers() {
        List<BackendProvider> out = new ArrayList<>();
        ServiceLoader.load(BackendProvider.class).forEach(out::add);
        return out;
    }

    private static int ordinal(String spec, String digits) {
        try {
            int n = Integer.parseInt(digits);
            if (n >= 0) {
                return n;
            }
        } catch (NumberFormatException e) {
            // reported below with the expected form
        }
        throw new DeviceUnavailableException(spec, "'" + digits + "' is not a device number (expected <kind>:N with"
                + " N >= 0, e.g. cuda:0)", null);
    }
}
