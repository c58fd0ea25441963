package io.texforce.tensor.lora;

import java.util.regex.Matcher;
import java.util.regex.Pattern;

/**
 * The naming schemes of LoRA files in the Python ecosystem, mapped to (layer path, role). Kohya names cannot be
 * turned back into dotted paths by replacing '_' (to_out_0, ff_net_0_proj, self_attn), so they are matched
 * against the kohya form of each real layer path instead ({@link #kohyaName}).
 */
public final class LoraKeys {
    /** The part of a tensor name: the down (A) or up (B) matrix, or a kohya alpha scalar. */
    public enum Role { DOWN, UP, ALPHA }

    /** A parsed key: layer path (dotted, or the kohya name for kohya files) and role. */
    public record Parsed(String layer, Role role, boolean kohya) {
    }

    private static final Pattern PEFT = Pattern.compile("(.+)\\.lora_([AB])(?:\\.[A-Za-z0-9_]+)?\\.weight");
    private static final Pattern OLD_DIFFUSERS = Pattern.compile("(.+)\\.(?:lora_linear_layer|lora)\\.(down|up)\\.weight");
    private static final Pattern PROCESSOR = Pattern.compile("(.+)\\.processor\\.(to_q|to_k|to_v|to_out)_lora\\.(down|up)\\.weight");
    private static final Pattern KOHYA = Pattern.compile("(lora_[a-z0-9]+_.+?)\\.(lora_down\\.weight|lora_up\\.weight|alpha)");

    private LoraKeys() {
    }

    /** Parses a tensor name, or returns null for names that are not LoRA tensors of a known scheme. */
    public static Parsed parse(String key) {
        Matcher m = KOHYA.matcher(key);
        if (m.matches()) {
            Role role = switch (m.group(2)) {
                case "lora_down.weight" -> Role.DOWN;
                case "lora_up.weight" -> Role.UP;
                default -> Role.ALPHA;
            };
            return new Parsed(canonicalKohyaLayer(m.group(1)), role, true);
        }
        m = PROCESSOR.matcher(key);
        if (m.matches()) {
            String proj = m.group(2).equals("to_out") ? "to_out.0" : m.group(2);
            return new Parsed(m.group(1) + "." + proj, m.group(3).equals("down") ? Role.DOWN : Role.UP, false);
        }
        m = OLD_DIFFUSERS.matcher(key);
        if (m.matches()) {
            return new Parsed(m.group(1), m.group(2).equals("down") ? Role.DOWN : Role.UP, false);
        }
        m = PEFT.matcher(key);
        if (m.matches()) {
            return new Parsed(m.group(1), m.group(2).equals("A") ? Role.DOWN : Role.UP, false);
        }
        return null;
    }

    /**
     * Kohya names of the first text encoder: sd-scripts write {@code lora_te_}, SDXL files and diffusers'
     * {@code convert_state_dict_to_kohya} (for every pipeline) write {@code lora_te1_}; diffusers reads both as
     * {@code text_encoder}, and so do we ({@code lora_te2_} stays the second text encoder's).
     */
    private static String canonicalKohyaLayer(String layer) {
        return layer.startsWith("lora_te1_") ? "lora_te_" + layer.substring("lora_te1_".length()) : layer;
    }

    /** kohya's name of a layer: prefix + "_" + path with dots replaced by underscores. */
    public static String kohyaName(String kohyaPrefix, String modulePath) {
        return kohyaPrefix + "_" + modulePath.replace('.', '_');
    }
}
