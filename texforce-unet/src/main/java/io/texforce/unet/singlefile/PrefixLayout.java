package io.texforce.unet.singlefile;

import java.util.HashMap;
import java.util.List;
import java.util.Map;

/**
 * A table from an original checkpoint's module prefixes ({@code input_blocks.1.0.}) to diffusers' ones
 * ({@code down_blocks.0.resnets.0.}), each with the renames of the names inside that module ({@code in_layers.0.} ->
 * {@code norm1.}). No registered prefix is a prefix of another, so a key has at most one match.
 */
final class PrefixLayout {
    /** A module prefix's diffusers counterpart and the renames inside it (first matching rename wins). */
    record Target(String prefix, List<String[]> innerRenames, boolean squeeze) {
    }

    private final Map<String, Target> byPrefix = new HashMap<>();

    void put(String original, String diffusers) {
        put(original, diffusers, List.of(), false);
    }

    void put(String original, String diffusers, List<String[]> innerRenames, boolean squeeze) {
        if (byPrefix.put(original, new Target(diffusers, innerRenames, squeeze)) != null) {
            throw new IllegalStateException("prefix " + original + " registered twice");
        }
    }

    /**
     * The table the other way round: diffusers prefixes to original ones, inner renames swapped; the squeeze flag
     * then marks linear weights to be written back as 1x1 convolution kernels.
     */
    PrefixLayout inverse() {
        PrefixLayout inv = new PrefixLayout();
        byPrefix.forEach((original, t) -> inv.put(t.prefix(), original,
                t.innerRenames().stream().map(r -> new String[]{r[1], r[0]}).toList(), t.squeeze()));
        return inv;
    }

    /** The diffusers name of {@code key} and whether its kernel is squeezed to 2-D, or null when no prefix fits. */
    Mapped map(String key) {
        int dot = -1;
        while ((dot = key.indexOf('.', dot + 1)) >= 0) {
            Target t = byPrefix.get(key.substring(0, dot + 1));
            if (t != null) {
                String rest = key.substring(dot + 1);
                for (String[] r : t.innerRenames()) {
                    if (rest.startsWith(r[0])) {
                        rest = r[1] + rest.substring(r[0].length());
                        break;
                    }
                }
                return new Mapped(t.prefix() + rest, t.squeeze());
            }
        }
        return null;
    }

    record Mapped(String key, boolean squeeze) {
    }
}
