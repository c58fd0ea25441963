package io.texforce.clip.tokenizer;

import com.fasterxml.jackson.core.JsonProcessingException;
import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;

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

    static TokenizerConfig read(Path dir) {
        JsonNode config = readOptional(dir.resolve("tokenizer_config.json"));
        JsonNode specials = readOptional(dir.resolve("special_tokens_map.json"));
        return new TokenizerConfig(
            token("bos_token", START_OF_TEXT, config, specials, dir),
            token("eos_token", END_OF_TEXT, config, specials, dir),
            token("pad_token", END_OF_TEXT, config, specials, dir),
            maxLength(config, dir.resolve("tokenizer_config.json")));
    }

    private static JsonNode readOptional(Path file) {
        if (!Files.exists(file)) {
            return null;
        }
        try {
            JsonNode node = new ObjectMapper().readTree(file.toFile());
            if (node == null || !node.isObject()) {
                throw new TokenizerException(file + ": expected a JSON object");
            }
            return node;
        } catch (JsonProcessingException e) {
            var location = e.getLocation();
            String at = location == null ? "" : " (line " + location.getLineNr() + ", column " + location.getColumnNr() + ")";
            throw new TokenizerException(file + ": malformed JSON: " + e.getOriginalMessage() + at, e);
        } catch (IOException e) {
            throw new TokenizerException("cannot read " + file + ": " + e.getMessage(), e);
        }
    }

    private static String token(String key, String fallback, JsonNode config, JsonNode specials, Path dir) {
        if (specials != null && specials.hasNonNull(key)) {
            return content(specials.get(key), key, dir.resolve("special_tokens_map.json"));
        }
        if (config != null && config.hasNonNull(key)) {
            return content(config.get(key), key, dir.resolve("tokenizer_config.json"));
        }
        return fallback;
    }

    private static String content(JsonNode value, String key, Path file) {
        if (value.isTextual()) {
            return value.asText();
        }
        if (value.isObject() && value.path("content").isTextual()) {
            return value.get("content").asText();
        }
        throw new TokenizerException(file + ": " + key + " must be a string or an object with a string"
            + " \"content\", found " + value);
    }

    private static int maxLength(JsonNode config, Path file) {
        JsonNode value = config == null ? null : config.get("model_max_length");
        if (value == null || value.isNull()) {
            return CLIP_CONTEXT_LENGTH;
        }
        if (!value.isNumber()) {
            throw new TokenizerException(file + ": model_max_length must be a number, found " + value);
        }
        double length = value.doubleValue();
        if (length < 2) {
            throw new TokenizerException(file + ": model_max_length " + value
                + " leaves no room for the start and end tokens");
        }
        return length <= CLIP_CONTEXT_LENGTH ? (int) length : CLIP_CONTEXT_LENGTH;
    }
}
