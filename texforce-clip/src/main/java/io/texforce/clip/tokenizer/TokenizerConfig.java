package io.texforce.clip.tokenizer;

import com.fasterxml.jackson.core.JsonFactory;
import com.fasterxml.jackson.core.JsonParser;
import com.fasterxml.jackson.core.JsonProcessingException;
import com.fasterxml.jackson.core.JsonToken;
import java.io.IOException;
import java.math.BigDecimal;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.HashMap;
import java.util.Map;
import java.util.Set;

/**
 * The special tokens and sequence length of a tokenizer folder, from {@code tokenizer_config.json} and
 * {@code special_tokens_map.json}; both are optional.
 *
 * <p>As in transformers, a token named in {@code special_tokens_map.json} wins over the same entry of
 * {@code tokenizer_config.json}; unnamed tokens default to CLIP's: {@code <|startoftext|>} for BOS and
 * {@code <|endoftext|>} for EOS and padding. A token is written either as a string or as an object
 * {@code {"content": ...}}.
 *
 * @param maxLength {@code model_max_length} if it is at most {@value #CLIP_CONTEXT_LENGTH}, else CLIP's
 *                  context length (configs without a limit store a huge placeholder number there)
 */
record TokenizerConfig(String bosToken, String eosToken, String padToken, int maxLength) {
    static final int CLIP_CONTEXT_LENGTH = 77;
    static final String START_OF_TEXT = "<|startoftext|>";
    static final String END_OF_TEXT = "<|endoftext|>";

    private static final String MAX_LENGTH_KEY = "model_max_length";
    private static final Set<String> TOKEN_KEYS = Set.of("bos_token", "eos_token", "pad_token");

    static TokenizerConfig read(Path dir) {
        Map<String, Object> config = readOptional(dir.resolve("tokenizer_config.json"));
        Map<String, Object> specials = readOptional(dir.resolve("special_tokens_map.json"));
        config.putAll(specials);
        return new TokenizerConfig(
            (String) config.getOrDefault("bos_token", START_OF_TEXT),
            (String) config.getOrDefault("eos_token", END_OF_TEXT),
            (String) config.getOrDefault("pad_token", END_OF_TEXT),
            maxLength((BigDecimal) config.get(MAX_LENGTH_KEY), dir.resolve("tokenizer_config.json")));
    }

    /**
     * The entries this class uses: token strings by key and {@code model_max_length} as a number. A streaming
     * read, because these files are tiny and a data-binding mapper costs more to start than the whole parse.
     */
    private static Map<String, Object> readOptional(Path file) {
        var entries = new HashMap<String, Object>();
        if (!Files.exists(file)) {
            return entries;
        }
        try (JsonParser parser = new JsonFactory().createParser(Files.newInputStream(file))) {
            if (parser.nextToken() != JsonToken.START_OBJECT) {
                throw new TokenizerException(file + ": expected a JSON object" + at(parser));
            }
            while (parser.nextToken() == JsonToken.FIELD_NAME) {
                String key = parser.currentName();
                JsonToken value = parser.nextToken();
                if (value == JsonToken.VALUE_NULL) {
                    continue;
                }
                if (TOKEN_KEYS.contains(key)) {
                    entries.put(key, tokenContent(parser, value, key, file));
                } else if (key.equals(MAX_LENGTH_KEY)) {
                    if (!value.isNumeric()) {
                        throw new TokenizerException(file + ": " + key + " must be a number, found "
                            + parser.getText() + at(parser));
                    }
                    entries.put(key, parser.getDecimalValue());
                } else {
                    parser.skipChildren();
                }
            }
            if (parser.currentToken() != JsonToken.END_OBJECT || parser.nextToken() != null) {
                throw new TokenizerException(file + ": unexpected content after the top-level object" + at(parser));
            }
            return entries;
        } catch (JsonProcessingException e) {
            var location = e.getLocation();
            String at = location == null ? "" : " (line " + location.getLineNr() + ", column " + location.getColumnNr() + ")";
            throw new TokenizerException(file + ": malformed JSON: " + e.getOriginalMessage() + at, e);
        } catch (IOException e) {
            throw new TokenizerException("cannot read " + file + ": " + e.getMessage(), e);
        }
    }

    /** A token written as {@code "text"} or as {@code {"content": "text", ...}}. */
    private static String tokenContent(JsonParser parser, JsonToken value, String key, Path file) throws IOException {
        if (value == JsonToken.VALUE_STRING) {
            return parser.getText();
        }
        String content = null;
        if (value == JsonToken.START_OBJECT) {
            while (parser.nextToken() == JsonToken.FIELD_NAME) {
                String field = parser.currentName();
                if (parser.nextToken() == JsonToken.VALUE_STRING && field.equals("content")) {
                    content = parser.getText();
                } else {
                    parser.skipChildren();
                }
            }
        }
        if (content == null) {
            throw new TokenizerException(file + ": " + key + " must be a string or an object with a string"
                + " \"content\"" + at(parser));
        }
        return content;
    }

    private static int maxLength(BigDecimal value, Path file) {
        if (value == null) {
            return CLIP_CONTEXT_LENGTH;
        }
        if (value.compareTo(BigDecimal.TWO) < 0) {
            throw new TokenizerException(file + ": " + MAX_LENGTH_KEY + " " + value
                + " leaves no room for the start and end tokens");
        }
        return value.compareTo(BigDecimal.valueOf(CLIP_CONTEXT_LENGTH)) <= 0 ? value.intValue() : CLIP_CONTEXT_LENGTH;
    }

    private static String at(JsonParser parser) {
        var location = parser.currentLocation();
        return " (line " + location.getLineNr() + ", column " + location.getColumnNr() + ")";
    }
}
