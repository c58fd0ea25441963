package io.texforce.clip.tokenizer;

import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.LinkedHashMap;
import java.util.List;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/** Broken tokenizer folders fail to load with a message naming the file and, where it has one, the line. */
class TokenizerErrorsTest {
    @TempDir
    Path dir;

    private void assertLoadFails(String... fragments) {
        var e = assertThrows(TokenizerException.class, () -> ClipTokenizer.load(dir));
        for (String fragment : fragments) {
            assertTrue(e.getMessage().contains(fragment), "'" + e.getMessage() + "' should mention '" + fragment + "'");
        }
    }

    @Test
    void missingVocabulary() throws IOException {
        SyntheticTokenizerFolder.write(dir, List.of("a b"));
        Files.delete(dir.resolve("vocab.json"));
        assertLoadFails("missing", "vocab.json");
    }

    @Test
    void missingMerges() throws IOException {
        SyntheticTokenizerFolder.write(dir, List.of("a b"));
        Files.delete(dir.resolve("merges.txt"));
        assertLoadFails("missing", "merges.txt");
    }

    @Test
    void malformedVocabularyJson() throws IOException {
        SyntheticTokenizerFolder.write(dir, List.of("a b"));
        Files.writeString(dir.resolve("vocab.json"), "{\"a\": 0,\n \"b\": 1,\n \"c\" 2}");
        assertLoadFails("vocab.json", "malformed JSON", "line 3");
    }

    @Test
    void vocabularyIdThatIsNotAnInteger() throws IOException {
        SyntheticTokenizerFolder.write(dir, List.of("a b"));
        Files.writeString(dir.resolve("vocab.json"), "{\"a\": 0, \"b\": \"one\"}");
        assertLoadFails("vocab.json", "'b'", "one", "expected an integer");
    }

    @Test
    void twoTokensWithOneId() throws IOException {
        SyntheticTokenizerFolder.write(dir, List.of("a b"));
        Files.writeString(dir.resolve("vocab.json"), "{\"a\": 0, \"b\": 0}");
        assertLoadFails("vocab.json", "'a'", "'b'", "share id 0");
    }

    @Test
    void mergeLineWithThreeFields() throws IOException {
        SyntheticTokenizerFolder.write(dir, List.of("a b"));
        Files.writeString(dir.resolve("merges.txt"), "#version: 0.2\na b\nb c d\n");
        assertLoadFails("merges.txt line 3", "two symbols", "'b c d'");
    }

    @Test
    void mergeWhoseResultIsNotInTheVocabulary() throws IOException {
        var vocab = new LinkedHashMap<>(SyntheticTokenizerFolder.vocabulary(List.of("a b")));
        SyntheticTokenizerFolder.write(dir, vocab, List.of("a b", "c d"));
        assertLoadFails("merges.txt line 3", "'cd'", "not in the vocabulary");
    }

    @Test
    void mergeOfAnUnknownSymbol() throws IOException {
        var vocab = new LinkedHashMap<>(SyntheticTokenizerFolder.vocabulary(List.of("a b")));
        SyntheticTokenizerFolder.write(dir, vocab, List.of("a b", "ab zz"));
        assertLoadFails("merges.txt line 3", "'zz'", "not in the vocabulary");
    }

    @Test
    void vocabularyWithoutEndOfText() throws IOException {
        var vocab = new LinkedHashMap<>(SyntheticTokenizerFolder.vocabulary(List.of("a b")));
        vocab.remove("<|endoftext|>");
        SyntheticTokenizerFolder.write(dir, vocab, List.of("a b"));
        assertLoadFails("vocab.json", "<|endoftext|>");
    }

    @Test
    void padTokenMissingFromTheVocabulary() throws IOException {
        SyntheticTokenizerFolder.write(dir, List.of("a b"));
        Files.writeString(dir.resolve("special_tokens_map.json"), "{\"pad_token\": \"<pad>\"}");
        assertLoadFails("pad_token", "'<pad>'");
    }

    @Test
    void malformedTokenizerConfig() throws IOException {
        SyntheticTokenizerFolder.write(dir, List.of("a b"));
        Files.writeString(dir.resolve("tokenizer_config.json"), "{\"pad_token\": \"!\",}");
        assertLoadFails("tokenizer_config.json", "malformed JSON", "line 1");
    }

    @Test
    void tokenThatIsNeitherStringNorContentObject() throws IOException {
        SyntheticTokenizerFolder.write(dir, List.of("a b"));
        Files.writeString(dir.resolve("tokenizer_config.json"), "{\"eos_token\": 7}");
        assertLoadFails("tokenizer_config.json", "eos_token", "\"content\"");
    }

    @Test
    void maxLengthTooShortForTheSpecialTokens() throws IOException {
        SyntheticTokenizerFolder.write(dir, List.of("a b"));
        Files.writeString(dir.resolve("tokenizer_config.json"), "{\"model_max_length\": 1}");
        assertLoadFails("tokenizer_config.json", "model_max_length 1");
    }
}
