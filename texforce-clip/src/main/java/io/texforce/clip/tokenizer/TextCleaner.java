package io.texforce.clip.tokenizer;

import java.text.Normalizer;
import java.util.Locale;

/**
 * The text clean-up CLIP applies before splitting a prompt into words: {@code ftfy.fix_text}, HTML
 * unescaping twice, whitespace collapsing and lower-casing.
 *
 * <p>ftfy is not available to Java, so it is stood in for by its deterministic fixes, with its default
 * settings and applied, as ftfy does, line by line until nothing changes: its own HTML unescaping
 * (semicolon-terminated references only; off from the first line that contains {@code <}), removal of
 * invisible control characters and terminal escapes, C1 controls read as Windows-1252, Latin ligatures,
 * full-width and half-width forms, curly quotes, unpaired surrogates, and NFC normalisation. Its heuristic
 * mojibake repair ({@code fix_encoding}) is not reproduced, nor are its upper-cased entity names such as
 * {@code &EACUTE;}; see {@link HtmlEntities} for the named entities supported. For prompts without
 * mojibake or rare HTML entities the result is the same as OpenAI CLIP's.
 */
final class TextCleaner {
    /** Standard-width forms (as NFKC gives them) of U+FF01..U+FFEF, null where a character has none. */
    private static final String[] STANDARD_WIDTH = new String[0xFFEF - 0xFF01 + 1];

    static {
        for (char c = '\uFF01'; c <= '\uFFEF'; c++) {
            String nfkc = Normalizer.normalize(String.valueOf(c), Normalizer.Form.NFKC);
            STANDARD_WIDTH[c - '\uFF01'] = nfkc.equals(String.valueOf(c)) ? null : nfkc;
        }
    }

    private TextCleaner() {
    }

    static String clean(String text) {
        String fixed = fixText(text);
        String unescaped = HtmlEntities.unescape(HtmlEntities.unescape(fixed));
        return collapseWhitespace(unescaped).toLowerCase(Locale.ROOT);
    }

    /** The stand-in for {@code ftfy.fix_text}. */
    static String fixText(String text) {
        if (text.indexOf('\n') < 0) {
            return fixLine(text, text.indexOf('<') < 0);
        }
        var out = new StringBuilder(text.length());
        boolean unescape = true;
        int start = 0;
        while (start < text.length()) {
            int end = text.indexOf('\n', start) + 1;
            end = end == 0 ? text.length() : end;
            String line = text.substring(start, end);
            // ftfy treats text with a literal '<' as HTML, and keeps doing so for the lines after it.
            unescape &= line.indexOf('<') < 0;
            out.append(fixLine(line, unescape));
            start = end;
        }
        return out.toString();
    }

    private static String fixLine(String line, boolean unescape) {
        String s = line;
        while (true) {
            String before = s;
            if (unescape) {
                s = HtmlEntities.unescapeTerminated(s);
            }
            s = replaceCharacters(s);
            if (!Normalizer.isNormalized(s, Normalizer.Form.NFC)) {
                s = Normalizer.normalize(s, Normalizer.Form.NFC);
            }
            if (s.equals(before)) {
                return s;
            }
        }
    }

    /**
     * ftfy's character-level fixes in one pass: C1 controls read as Windows-1252, ligatures, width, quotes,
     * unpaired surrogates, ANSI terminal escapes and invisible control characters.
     */
    private static String replaceCharacters(String s) {
        StringBuilder out = null;
        int i = 0;
        while (i < s.length()) {
            char c = s.charAt(i);
            int escapeEnd = c == '\u001B' ? terminalEscapeEnd(s, i) : -1;
            int next;
            String replacement;
            if (escapeEnd > 0) {
                next = escapeEnd;
                replacement = "";
            } else if (Character.isSurrogate(c)) {
                boolean paired = Character.isHighSurrogate(c) && i + 1 < s.length()
                    && Character.isLowSurrogate(s.charAt(i + 1));
                next = paired ? i + 2 : i + 1;
                replacement = paired ? null : "\uFFFD";
            } else {
                next = i + 1;
                replacement = replacementFor(c);
            }
            if (replacement != null && out == null) {
                out = new StringBuilder(s.length()).append(s, 0, i);
            }
            if (out != null) {
                if (replacement != null) {
                    out.append(replacement);
                } else {
                    out.append(s, i, next);
                }
            }
            i = next;
        }
        return out == null ? s : out.toString();
    }

    /** The end of the ANSI escape {@code ESC [ [0-9;]* [A-Za-z]} starting at {@code esc}, or -1 if there is none. */
    private static int terminalEscapeEnd(String s, int esc) {
        int i = esc + 1;
        if (i >= s.length() || s.charAt(i) != '[') {
            return -1;
        }
        i++;
        while (i < s.length() && ((s.charAt(i) >= '0' && s.charAt(i) <= '9') || s.charAt(i) == ';')) {
            i++;
        }
        boolean letter = i < s.length() && ((s.charAt(i) | 0x20) >= 'a' && (s.charAt(i) | 0x20) <= 'z');
        return letter ? i + 1 : -1;
    }

    /** What ftfy turns {@code c} into, or null to keep it. */
    private static String replacementFor(char c) {
        if (c < 0x80) {
            boolean control = c <= 0x08 || c == 0x0B || (c >= 0x0E && c <= 0x1F) || c == 0x7F;
            return control ? "" : null;
        }
        if (c <= 0x9F) {
            char mapped = HtmlEntities.windows1252(c);
            if (mapped == c) {
                return null;
            }
            // The later fixes apply to the mapped character too (0x93 is a curly quote, for one).
            String further = replacementFor(mapped);
            return further != null ? further : String.valueOf(mapped);
        }
        if (c >= '\uFF01' && c <= '\uFFEF') {
            return STANDARD_WIDTH[c - '\uFF01'];
        }
        return switch (c) {
            case '\u02BC', '\u2018', '\u2019', '\u201A', '\u201B' -> "'";
            case '\u201C', '\u201D', '\u201E', '\u201F' -> "\"";
            case '\u3000' -> " ";
            case '\u206A', '\u206B', '\u206C', '\u206D', '\u206E', '\u206F', '\uFEFF',
                 '\uFFF9', '\uFFFA', '\uFFFB', '\uFFFC' -> "";
            case '\u0132' -> "IJ";
            case '\u0133' -> "ij";
            case '\u0149' -> "\u02BCn";
            case '\u01F1' -> "DZ";
            case '\u01F2' -> "Dz";
            case '\u01F3' -> "dz";
            case '\u01C4' -> "D\u017D";
            case '\u01C5' -> "D\u017E";
            case '\u01C6' -> "d\u017E";
            case '\u01C7' -> "LJ";
            case '\u01C8' -> "Lj";
            case '\u01C9' -> "lj";
            case '\u01CA' -> "NJ";
            case '\u01CB' -> "Nj";
            case '\u01CC' -> "nj";
            case '\uFB00' -> "ff";
            case '\uFB01' -> "fi";
            case '\uFB02' -> "fl";
            case '\uFB03' -> "ffi";
            case '\uFB04' -> "ffl";
            case '\uFB05' -> "\u017Ft";
            case '\uFB06' -> "st";
            default -> null;
        };
    }

    /** Python's {@code re.sub(r"\s+", " ", text).strip()} with the {@code regex} module's Unicode {@code \s}. */
    static String collapseWhitespace(String s) {
        var out = new StringBuilder(s.length());
        boolean pendingSpace = false;
        for (int i = 0; i < s.length(); i++) {
            char c = s.charAt(i);
            if (isWhiteSpace(c)) {
                pendingSpace = true;
                continue;
            }
            if (pendingSpace && !out.isEmpty()) {
                out.append(' ');
            }
            pendingSpace = false;
            out.append(c);
        }
        return out.toString();
    }

    /** The Unicode White_Space property (all such characters are in the BMP). */
    static boolean isWhiteSpace(char c) {
        return switch (c) {
            case '\t', '\n', '\u000B', '\f', '\r', ' ', '\u0085', '\u00A0', '\u1680', '\u2028', '\u2029',
                 '\u202F', '\u205F', '\u3000' -> true;
            default -> c >= '\u2000' && c <= '\u200A';
        };
    }
}
