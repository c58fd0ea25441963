package io.texforce.tensor.lora;

import java.nio.file.Path;
import java.util.Collection;
import java.util.regex.Pattern;
import java.util.regex.PatternSyntaxException;

/**
 * peft's rules for naming modules in a {@code LoraConfig}: a target or pattern key {@code k} selects a module whose
 * path is {@code k} or ends with {@code "." + k}; pattern keys ({@code rank_pattern}, {@code alpha_pattern}) are
 * regular expressions matched that way.
 */
final class PeftNames {
    private PeftNames() {
    }

    /** peft's {@code get_pattern_key} test: {@code (.*\.)?(pattern)$} over the whole module path. */
    static boolean patternMatches(String pattern, String modulePath) {
        return Pattern.compile("(.*\\.)?(" + pattern + ")$").matcher(modulePath).matches();
    }

    static void checkPattern(String pattern, Path file) {
        try {
            Pattern.compile(pattern);
        } catch (PatternSyntaxException e) {
            throw new IllegalArgumentException(file + ": alpha_pattern key '" + pattern
                    + "' is not a regular expression: " + e.getDescription(), e);
        }
    }

    /** Whether a target name selects {@code modulePath} (peft's suffix rule for plain target_modules). */
    static boolean selects(String target, String modulePath) {
        return modulePath.equals(target) || modulePath.endsWith("." + target);
    }

    /**
     * The shortest dotted suffix of {@code path} that selects none of {@code others} and does not start with an index
     * ({@code to_out.0}, not {@code 0}; {@code layers.1.self_attn.q_proj}, not {@code 1.self_attn.q_proj}). Short names survive a renamed model root (transformers 5 dropped CLIP's
     * {@code text_model.}), full paths would not; names shared with other layers would adapt those too.
     */
    static String shortestUniqueSuffix(String path, Collection<String> others) {
        String[] parts = path.split("\\.");
        for (int k = 1; k <= parts.length; k++) {
            if (parts[parts.length - k].chars().allMatch(Character::isDigit)) {
                continue;
            }
            String suffix = String.join(".", java.util.Arrays.copyOfRange(parts, parts.length - k, parts.length));
            boolean clash = false;
            for (String o : others) {
                if (selects(suffix, o)) {
                    clash = true;
                    break;
                }
            }
            if (!clash) {
                return suffix;
            }
        }
        return path;
    }
}
