package io.texforce.clip.tokenizer;

import com.fasterxml.jackson.databind.ObjectMapper;
import com.fasterxml.jackson.databind.node.ArrayNode;
import com.fasterxml.jackson.databind.node.ObjectNode;
import io.texforce.tensor.TestData;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.ValueSource;

import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.List;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

/**
 * A tokenizer folder as transformers 5 saves it: tokenizer.json (tokenizers' format: model.type BPE, model.vocab,
 * model.merges as [left, right] pairs, or "left right" strings in older files) and tokenizer_config.json, no
 * vocab.json or merges.txt. It must tokenize exactly as the vocab.json folder it was made from.
 */
class TokenizerJsonTest {
    private static final Path REFERENCE = TestData.tinySd1().resolve("tokenizer");
    private static final List<String> PROMPTS = List.of("a photo of a cat", "A green colored rabbit.",
            "Four wolves in the park, at dusk!!", "naïve café — 東京 2024 :)", "", "x".repeat(300),
            "an astronaut riding a horse on mars, highly detailed, 8k");

    @TempDir
    Path dir;

    private Path write(boolean pairs, String type) throws IOException {
        ObjectMapper m = new ObjectMapper();
        ObjectNode root = m.createObjectNode();
        ObjectNode model = root.putObject("model");
        model.put("type", type);
        model.put("end_of_word_suffix", "</w>");
        model.set("vocab", m.readTree(REFERENCE.resolve("vocab.json").toFile()));
        ArrayNode merges = model.putArray("merges");
        List<String> lines = Files.readAllLines(REFERENCE.resolve("merges.txt"));
        for (int i = 0; i < lines.size(); i++) {
            String line = lines.get(i);
            if ((i == 0 && line.startsWith("#")) || line.isBlank()) {
                continue;
            }
            if (pairs) {
                String[] p = line.split(" ");
                merges.addArray().add(p[0]).add(p[1]);
            } else {
                merges.add(line);
            }
        }
        Files.copy(REFERENCE.resolve("tokenizer_config.json"), dir.resolve("tokenizer_config.json"));
        m.writeValue(dir.resolve("tokenizer.json").toFile(), root);
        return dir;
    }

    @ParameterizedTest
    @ValueSource(booleans = {true, false})
    void tokenizesAsTheVocabJsonFolder(boolean pairs) throws IOException {
        ClipTokenizer expected = ClipTokenizer.load(REFERENCE);
        ClipTokenizer fromJson = ClipTokenizer.load(write(pairs, "BPE"));
        assertTrue(ClipTokenizer.isTokenizerFolder(dir));
        for (String p : PROMPTS) {
            assertArrayEquals(expected.encode(p), fromJson.encode(p), p);
        }
        assertArrayEquals(expected.tokenize(PROMPTS)[3], fromJson.tokenize(PROMPTS)[3]);
    }

    @Test
    void aTokenizerOfAnotherKindIsRefused() throws IOException {
        var e = assertThrows(TokenizerException.class, () -> ClipTokenizer.load(write(true, "WordPiece")));
        assertTrue(e.getMessage().contains("WordPiece") && e.getMessage().contains("tokenizer.json"), e.getMessage());
        Files.delete(dir.resolve("tokenizer.json"));
        e = assertThrows(TokenizerException.class, () -> ClipTokenizer.load(dir));
        assertTrue(e.getMessage().contains("vocab.json") && e.getMessage().contains("tokenizer.json"), e.getMessage());
    }
}
