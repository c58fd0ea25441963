package io.texforce.clip.tokenizer;

import com.fasterxml.jackson.core.JsonFactory;
import com.fasterxml.jackson.core.JsonParser;
import com.fasterxml.jackson.core.JsonProcessingException;
import com.fasterxml.jackson.core.JsonToken;
import it.unimi.dsi.fastutil.objects.Object2IntOpenHashMap;
import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.NoSuchFileException;
import java.nio.file.Path;

/** The token strings of {@code vocab.json} and their ids, both ways. */
final class Vocabulary {
    /** Far above any real vocabulary; guards the id-to-token array against a corrupt file. */
    private static final int MAX_ID = 1 << 24;

    private final Object2IntOpenHashMap<String> ids;
    private final String[] tokens;

    private Vocabulary(Object2IntOpenHashMap<String> ids, String[] tokens) {
        this.ids = ids;
        this.tokens = tokens;
    }

    /** Reads a JSON object of token strings to non-negative, distinct integer ids. */
    static Vocabulary read(Path file) {
        var ids = new Object2IntOpenHashMap<String>(65_536);
        ids.defaultReturnValue(-1);
        int maxId = -1;
        try (JsonParser parser = new JsonFactory().createParser(Files.newInputStream(file))) {
            if (parser.nextToken() != JsonToken.START_OBJECT) {
                throw new TokenizerException(file + ": expected a JSON object of token -> id"
                    + at(parser));
            }
            JsonToken next;
            while ((next = parser.nextToken()) == JsonToken.FIELD_NAME) {
                String token = parser.currentName();
                if (parser.nextToken() != JsonToken.VALUE_NUMBER_INT) {
                    throw new TokenizerException(file + ": token '" + token + "' has id " + parser.getText()
                        + ", expected an integer" + at(parser));
                }
                long id = parser.getLongValue();
                if (id < 0 || id > MAX_ID) {
                    throw new TokenizerException(file + ": token '" + token + "' has id " + id
                        + ", expected 0.." + MAX_ID + at(parser));
                }
                ids.put(token, (int) id);
                maxId = Math.max(maxId, (int) id);
            }
            if (next != JsonToken.END_OBJECT || parser.nextToken() != null) {
                throw new TokenizerException(file + ": unexpected content after the vocabulary" + at(parser));
            }
        } catch (NoSuchFileException e) {
            throw new TokenizerException("missing vocabulary file " + file, e);
        } catch (JsonProcessingException e) {
            throw new TokenizerException(file + ": malformed JSON: " + e.getOriginalMessage() + at(e), e);
        } catch (IOException e) {
            throw new TokenizerException("cannot read " + file + ": " + e.getMessage(), e);
        }
        return index(ids, maxId, file.toString());
    }

    /** The vocabulary of a token -> id map read elsewhere (a tokenizer.json's {@code model.vocab}). */
    static Vocabulary of(java.util.Map<String, Integer> tokenIds, String source) {
        var ids = new Object2IntOpenHashMap<String>(tokenIds.size());
        ids.defaultReturnValue(-1);
        int maxId = -1;
        for (var e : tokenIds.entrySet()) {
            int id = e.getValue();
            if (id < 0 || id > MAX_ID) {
                throw new TokenizerException(source + ": token '" + e.getKey() + "' has id " + id + ", expected 0.."
                    + MAX_ID);
            }
            ids.put(e.getKey(), id);
            maxId = Math.max(maxId, id);
        }
        return index(ids, maxId, source);
    }

    private static Vocabulary index(Object2IntOpenHashMap<String> ids, int maxId, String source) {
        String[] tokens = new String[maxId + 1];
        for (var entry : ids.object2IntEntrySet()) {
            String previous = tokens[entry.getIntValue()];
            if (previous != null) {
                throw new TokenizerException(source + ": tokens '" + previous + "' and '" + entry.getKey()
                    + "' share id " + entry.getIntValue());
            }
            tokens[entry.getIntValue()] = entry.getKey();
        }
        return new Vocabulary(ids, tokens);
    }

    private static String at(JsonParser parser) {
        var location = parser.currentLocation();
        return " (line " + location.getLineNr() + ", column " + location.getColumnNr() + ")";
    }

    private static String at(JsonProcessingException e) {
        var location = e.getLocation();
        return location == null ? "" : " (line " + location.getLineNr() + ", column " + location.getColumnNr() + ")";
    }

    /** The id of {@code token}, or -1 if it is not in the vocabulary. */
    int id(String token) {
        return ids.getInt(token);
    }

    /** The token with {@code id}, or null if no token has it. */
    String token(int id) {
        return id >= 0 && id < tokens.length ? tokens[id] : null;
    }

    int size() {
        return ids.size();
    }

    /** One more than the largest id. */
    int idLimit() {
        return tokens.length;
    }
}
