package io.texforce.clip.tokenizer;

import java.nio.charset.Charset;
import java.util.HashMap;
import java.util.Map;

/**
 * Decodes HTML character references the way Python's {@code html.unescape} does, for the named entities
 * that occur in prompts.
 *
 * <p>Numeric references ({@code &#233;}, {@code &#xE9;}, with or without the semicolon) follow Python's
 * rules exactly, including its Windows-1252 reading of 0x80..0x9F and its replacement or removal of
 * invalid code points. Named references are limited to HTML's Latin-1 set (which may also omit the
 * semicolon, e.g. {@code &amp}) plus common typographic ones ({@code &apos; &ndash; &hellip; &trade;}
 * ...); other HTML5 names such as {@code &alpha;} are left as they are.
 */
final class HtmlEntities {
    /** HTML's Latin-1 entity names for U+00A0..U+00FF, in code point order. */
    private static final String[] LATIN1_NAMES = {
        "nbsp", "iexcl", "cent", "pound", "curren", "yen", "brvbar", "sect", "uml", "copy", "ordf", "laquo",
        "not", "shy", "reg", "macr", "deg", "plusmn", "sup2", "sup3", "acute", "micro", "para", "middot",
        "cedil", "sup1", "ordm", "raquo", "frac14", "frac12", "frac34", "iquest", "Agrave", "Aacute", "Acirc",
        "Atilde", "Auml", "Aring", "AElig", "Ccedil", "Egrave", "Eacute", "Ecirc", "Euml", "Igrave", "Iacute",
        "Icirc", "Iuml", "ETH", "Ntilde", "Ograve", "Oacute", "Ocirc", "Otilde", "Ouml", "times", "Oslash",
        "Ugrave", "Uacute", "Ucirc", "Uuml", "Yacute", "THORN", "szlig", "agrave", "aacute", "acirc", "atilde",
        "auml", "aring", "aelig", "ccedil", "egrave", "eacute", "ecirc", "euml", "igrave", "iacute", "icirc",
        "iuml", "eth", "ntilde", "ograve", "oacute", "ocirc", "otilde", "ouml", "divide", "oslash", "ugrave",
        "uacute", "ucirc", "uuml", "yacute", "thorn", "yuml",
    };

    /** Names that are only recognised with their semicolon. */
    private static final Map<String, String> SEMICOLON_ONLY = Map.ofEntries(
        Map.entry("apos", "'"), Map.entry("ndash", "\u2013"), Map.entry("mdash", "\u2014"),
        Map.entry("lsquo", "\u2018"), Map.entry("rsquo", "\u2019"), Map.entry("sbquo", "\u201A"),
        Map.entry("ldquo", "\u201C"), Map.entry("rdquo", "\u201D"), Map.entry("bdquo", "\u201E"),
        Map.entry("hellip", "\u2026"), Map.entry("bull", "\u2022"), Map.entry("middot", "\u00B7"),
        Map.entry("trade", "\u2122"), Map.entry("euro", "\u20AC"), Map.entry("dagger", "\u2020"),
        Map.entry("Dagger", "\u2021"), Map.entry("permil", "\u2030"), Map.entry("lsaquo", "\u2039"),
        Map.entry("rsaquo", "\u203A"), Map.entry("prime", "\u2032"), Map.entry("Prime", "\u2033"),
        Map.entry("hearts", "\u2665"), Map.entry("larr", "\u2190"), Map.entry("rarr", "\u2192"),
        Map.entry("uarr", "\u2191"), Map.entry("darr", "\u2193"), Map.entry("harr", "\u2194"),
        Map.entry("ensp", "\u2002"), Map.entry("emsp", "\u2003"), Map.entry("thinsp", "\u2009"));

    /** Names HTML also recognises without a semicolon ("legacy" references). */
    private static final Map<String, String> LEGACY = new HashMap<>();
    /** Every supported name, keyed without its semicolon. */
    private static final Map<String, String> NAMED = new HashMap<>();

    /** Windows-1252's reading of bytes 0x80..0x9F; the five it leaves undefined stay as they are. */
    private static final char[] WINDOWS_1252_C1 = new char[32];
    private static final int MAX_NAME_LENGTH = 32;

    static {
        String decoded = new String(c1Bytes(), Charset.forName("windows-1252"));
        for (int i = 0; i < WINDOWS_1252_C1.length; i++) {
            char c = decoded.charAt(i);
            WINDOWS_1252_C1[i] = c == '\uFFFD' ? (char) (0x80 + i) : c;
        }
        for (int i = 0; i < LATIN1_NAMES.length; i++) {
            LEGACY.put(LATIN1_NAMES[i], Character.toString(0xA0 + i));
        }
        for (String[] pair : new String[][] {{"amp", "&"}, {"lt", "<"}, {"gt", ">"}, {"quot", "\""},
                {"copy", "\u00A9"}, {"reg", "\u00AE"}}) {
            LEGACY.put(pair[0], pair[1]);
            LEGACY.put(pair[0].toUpperCase(java.util.Locale.ROOT), pair[1]);
        }
        NAMED.putAll(LEGACY);
        NAMED.putAll(SEMICOLON_ONLY);
    }

    private HtmlEntities() {
    }

    private static byte[] c1Bytes() {
        byte[] bytes = new byte[32];
        for (int i = 0; i < bytes.length; i++) {
            bytes[i] = (byte) (0x80 + i);
        }
        return bytes;
    }

    /** The character a C1 control code (U+0080..U+009F) stands for in Windows-1252, as browsers read it. */
    static char windows1252(char c1) {
        return WINDOWS_1252_C1[c1 - 0x80];
    }

    /** Python's {@code html.unescape}: every reference it would decode (within the supported names). */
    static String unescape(String text) {
        return decode(text, false);
    }

    /**
     * ftfy's stricter variant: only references closed by a semicolon, {@code &#?[0-9A-Za-z]{1,24};}, so that
     * informal text such as {@code "this&not that"} is left alone.
     */
    static String unescapeTerminated(String text) {
        return decode(text, true);
    }

    private static String decode(String text, boolean terminatedOnly) {
        int amp = text.indexOf('&');
        if (amp < 0) {
            return text;
        }
        var out = new StringBuilder(text.length());
        out.append(text, 0, amp);
        int i = amp;
        while (i < text.length()) {
            char c = text.charAt(i);
            if (c != '&') {
                out.append(c);
                i++;
                continue;
            }
            int end = terminatedOnly ? decodeTerminated(text, i, out) : decodeReference(text, i, out);
            if (end < 0) {
                out.append('&');
                i++;
            } else {
                i = end;
            }
        }
        return out.toString();
    }

    /**
     * Decodes the reference starting with the {@code &} at {@code amp} into {@code out}, following Python's
     * pattern {@code &(#[0-9]+;?|#[xX][0-9a-fA-F]+;?|[^\t\n\f <&#;]{1,32};?)}.
     *
     * @return the index just after the reference, or -1 if none starts here (nothing is appended)
     */
    private static int decodeReference(String text, int amp, StringBuilder out) {
        int i = amp + 1;
        if (i < text.length() && text.charAt(i) == '#') {
            return decodeNumeric(text, i + 1, out);
        }
        int start = i;
        while (i < text.length() && i - start < MAX_NAME_LENGTH && isNameChar(text.charAt(i))) {
            i++;
        }
        if (i == start) {
            return -1;
        }
        boolean semicolon = i < text.length() && text.charAt(i) == ';';
        String name = text.substring(start, i);
        int end = semicolon ? i + 1 : i;
        String whole = semicolon ? NAMED.get(name) : LEGACY.get(name);
        if (whole != null) {
            out.append(whole);
            return end;
        }
        // Like a browser, decode the longest legacy name that prefixes the run and keep the rest as text.
        String matched = semicolon ? text.substring(start, end) : name;
        for (int len = matched.length() - 1; len >= 2; len--) {
            String prefix = LEGACY.get(matched.substring(0, len));
            if (prefix != null) {
                out.append(prefix).append(matched, len, matched.length());
                return end;
            }
        }
        out.append('&').append(matched);
        return end;
    }

    private static int decodeNumeric(String text, int digitsStart, StringBuilder out) {
        int i = digitsStart;
        int radix = 10;
        if (i < text.length() && (text.charAt(i) == 'x' || text.charAt(i) == 'X')) {
            radix = 16;
            i++;
        }
        int start = i;
        long value = 0;
        while (i < text.length() && Character.digit(text.charAt(i), radix) >= 0 && text.charAt(i) < 0x80) {
            // Saturate: any value past U+10FFFF decodes to U+FFFD, however long the digit run.
            value = Math.min(value * radix + Character.digit(text.charAt(i), radix), Character.MAX_CODE_POINT + 1L);
            i++;
        }
        if (i == start) {
            return -1;
        }
        if (i < text.length() && text.charAt(i) == ';') {
            i++;
        }
        out.append(characterFor((int) value));
        return i;
    }

    /** Python's treatment of a numeric reference's value. */
    private static String characterFor(int codePoint) {
        if (codePoint == 0) {
            return "\uFFFD";
        }
        if (codePoint == '\r') {
            return "\r";
        }
        if (codePoint >= 0x80 && codePoint <= 0x9F) {
            return String.valueOf(windows1252((char) codePoint));
        }
        if ((codePoint >= 0xD800 && codePoint <= 0xDFFF) || codePoint > Character.MAX_CODE_POINT) {
            return "\uFFFD";
        }
        boolean invalid = (codePoint >= 0x1 && codePoint <= 0x8) || codePoint == 0xB
            || (codePoint >= 0xE && codePoint <= 0x1F) || codePoint == 0x7F
            || (codePoint >= 0xFDD0 && codePoint <= 0xFDEF) || (codePoint & 0xFFFE) == 0xFFFE;
        return invalid ? "" : Character.toString(codePoint);
    }

    /** ftfy's form: {@code &#?[0-9A-Za-z]{1,24};}, decoded only when the whole reference is understood. */
    private static int decodeTerminated(String text, int amp, StringBuilder out) {
        int i = amp + 1;
        boolean numeric = i < text.length() && text.charAt(i) == '#';
        if (numeric) {
            i++;
        }
        int start = i;
        while (i < text.length() && i - start < 24 && isAsciiAlphanumeric(text.charAt(i))) {
            i++;
        }
        if (i == start || i >= text.length() || text.charAt(i) != ';') {
            return -1;
        }
        int end = i + 1;
        if (numeric) {
            var decoded = new StringBuilder();
            // Only a reference that Python's rules consume up to its semicolon counts.
            if (decodeNumeric(text, start, decoded) != end) {
                return -1;
            }
            out.append(decoded);
            return end;
        }
        String value = NAMED.get(text.substring(start, i));
        if (value == null) {
            return -1;
        }
        out.append(value);
        return end;
    }

    private static boolean isNameChar(char c) {
        return c != '\t' && c != '\n' && c != '\f' && c != ' ' && c != '<' && c != '&' && c != '#' && c != ';';
    }

    private static boolean isAsciiAlphanumeric(char c) {
        return (c >= '0' && c <= '9') || (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z');
    }
}
