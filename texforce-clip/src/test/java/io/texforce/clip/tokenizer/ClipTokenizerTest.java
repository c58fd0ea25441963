package io.texforce.clip.tokenizer;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import io.texforce.tensor.TestData;
import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.List;
import java.util.stream.IntStream;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/** Behaviour of the CLIP tokenizer on the real 49,408-token vocabulary. */
class ClipTokenizerTest {
    private static final Path SD1_TOKENIZER = TestData.tinySd1().resolve("tokenizer");
    private static ClipTokenizer tokenizer;

    @BeforeAll
    static void load() {
        tokenizer = ClipTokenizer.load(SD1_TOKENIZER);
    }

    @Test
    void specialIdsAndSizesComeFromTheFolder() {
        assertEquals(49406, tokenizer.bosId());
        assertEquals(49407, tokenizer.eosId());
        assertEquals(49407, tokenizer.padId());
        assertEquals(77, tokenizer.maxLength());
        assertEquals(49408, tokenizer.vocabSize());
    }

    @Test
    void encodeSplitsDigitsContractionsAndSpecialTokens() {
        assertArrayEquals(new int[] {275, 273}, tokenizer.encode("42"), "numbers go digit by digit: 4</w> 2</w>");
        assertArrayEquals(new int[] {2923, 713}, tokenizer.encode("isn't"), "isn</w> 't</w>");
        assertArrayEquals(new int[] {585, 568}, tokenizer.encode("It's"), "it</w> 's</w>");
        assertArrayEquals(new int[] {3306, 46146, 1002}, tokenizer.encode("hello 🤖 world"));
        assertArrayEquals(new int[] {49407}, tokenizer.encode("<|endoftext|>"));
        assertArrayEquals(new int[] {320, 49406}, tokenizer.encode("a<|StartOfText|>"));
        assertArrayEquals(new int[0], tokenizer.encode(" \t\n "));
    }

    @Test
    void cleanUpMakesEquivalentSpellingsTokenizeAlike() {
        assertSameIds("Tom & Jerry <3", "Tom &amp; Jerry &lt;3");
        assertSameIds("a dog on the moon", "  A \t dog\u00A0\u00A0on\nthe\u2003moon  ");
        assertSameIds("it's \"ok\"", "it\u2019s \u201Cok\u201D");
        assertSameIds("it's", "it&#39;s");
        assertSameIds("it's", "it&#x27;s");
        assertSameIds("cat 42", "\uFF23\uFF21\uFF34\u3000\uFF14\uFF12");
        assertSameIds("fish", "\uFB01sh");
        assertSameIds("café", "cafe\u0301");
        assertSameIds("red", "\u001B[31mred\u001B[0m");
    }

    private static void assertSameIds(String expected, String variant) {
        assertArrayEquals(tokenizer.encode(expected), tokenizer.encode(variant), "'" + variant + "' vs '" + expected + "'");
    }

    @Test
    void emptyPromptIsStartEndThenPadding() {
        int[] ids = tokenizer.tokenize("");
        assertEquals(77, ids.length);
        assertEquals(49406, ids[0]);
        assertTrue(Arrays.stream(ids, 1, 77).allMatch(id -> id == 49407));
        assertEquals(1, tokenizer.eosIndex(ids));
    }

    @Test
    void longPromptIsTruncatedKeepingEosLast() {
        String prompt = "a photo of a cat, ".repeat(30);
        int[] tokens = tokenizer.encode(prompt);
        assertEquals(180, tokens.length);
        int[] ids = tokenizer.tokenize(prompt);
        assertEquals(77, ids.length);
        assertEquals(49406, ids[0]);
        assertArrayEquals(Arrays.copyOf(tokens, 75), Arrays.copyOfRange(ids, 1, 76));
        assertEquals(49407, ids[76]);
        assertEquals(76, tokenizer.eosIndex(ids));
    }

    @Test
    void sd2StylePadTokenPadsWithExclamationMark(@TempDir Path dir) throws IOException {
        copyVocabulary(dir);
        Files.writeString(dir.resolve("tokenizer_config.json"), """
            {"tokenizer_class": "CLIPTokenizer", "model_max_length": 77, "pad_token": "!",
             "bos_token": {"__type": "AddedToken", "content": "<|startoftext|>", "lstrip": false},
             "eos_token": {"__type": "AddedToken", "content": "<|endoftext|>", "lstrip": false}}
            """);
        ClipTokenizer sd2 = ClipTokenizer.load(dir);
        assertEquals(0, sd2.padId());
        int[] ids = sd2.tokenize("a photo of a cat");
        assertArrayEquals(new int[] {49406, 320, 1125, 539, 320, 2368, 49407}, Arrays.copyOf(ids, 7));
        assertTrue(Arrays.stream(ids, 7, 77).allMatch(id -> id == 0), Arrays.toString(ids));
        assertEquals(6, sd2.eosIndex(ids));
    }

    @Test
    void specialTokensMapWinsOverTokenizerConfigAndAcceptsContentObjects(@TempDir Path dir) throws IOException {
        copyVocabulary(dir);
        Files.writeString(dir.resolve("tokenizer_config.json"), "{\"pad_token\": \"<|endoftext|>\"}");
        Files.writeString(dir.resolve("special_tokens_map.json"),
            "{\"pad_token\": {\"content\": \"!\", \"single_word\": false}}");
        assertEquals(0, ClipTokenizer.load(dir).padId());
    }

    @Test
    void modelMaxLengthIsUsedUpTo77(@TempDir Path dir) throws IOException {
        copyVocabulary(dir);
        Files.writeString(dir.resolve("tokenizer_config.json"), "{\"model_max_length\": 16}");
        ClipTokenizer short16 = ClipTokenizer.load(dir);
        assertEquals(16, short16.maxLength());
        int[] ids = short16.tokenize("a photo of a cat, ".repeat(5));
        assertEquals(16, ids.length);
        assertEquals(15, short16.eosIndex(ids));

        Files.writeString(dir.resolve("tokenizer_config.json"),
            "{\"model_max_length\": 1000000000000000019884624838656}");
        assertEquals(77, ClipTokenizer.load(dir).maxLength());
    }

    @Test
    void withPadIdChangesOnlyThePadding() {
        ClipTokenizer zeroPadded = tokenizer.withPadId(0);
        assertEquals(0, zeroPadded.padId());
        assertEquals(49407, tokenizer.padId());
        int[] ids = zeroPadded.tokenize("a photo of a cat");
        assertArrayEquals(Arrays.copyOf(tokenizer.tokenize("a photo of a cat"), 7), Arrays.copyOf(ids, 7));
        assertEquals(0, ids[7]);
        assertThrows(IllegalArgumentException.class, () -> tokenizer.withPadId(49408));
        assertThrows(IllegalArgumentException.class, () -> tokenizer.withPadId(-1));
    }

    @Test
    void eosIndexRequiresAnEos() {
        var e = assertThrows(IllegalArgumentException.class, () -> tokenizer.eosIndex(new int[] {49406, 320, 0}));
        assertTrue(e.getMessage().contains("49407"), e.getMessage());
    }

    @Test
    void decodeInvertsEncodeUpToSpacingAtWordEnds() {
        for (String prompt : List.of("a photo of a cat", "Tom &amp; Jerry &lt;3", "café crème brûlée",
                "a robot 🤖 holding a sign that says \"hello\"", "it's a man's world, isn't it? 42 cats & 7 dogs",
                "東京の夜景, Ελληνικά, русский")) {
            int[] ids = tokenizer.encode(prompt);
            String decoded = tokenizer.decode(ids);
            assertEquals(TextCleaner.clean(prompt).replace(" ", ""), decoded.replace(" ", ""), prompt);
            assertArrayEquals(ids, tokenizer.encode(decoded), "re-encoding the decoded '" + decoded + "'");
        }
        assertEquals("a photo of a cat", tokenizer.decode(tokenizer.encode("A photo of a cat")));
        assertEquals("<|startoftext|>a photo <|endoftext|>", tokenizer.decode(new int[] {49406, 320, 1125, 49407}));
        assertThrows(IllegalArgumentException.class, () -> tokenizer.decode(new int[] {49408}));
    }

    @Test
    void parallelTokenizingEqualsSequential() {
        List<String> prompts = new ArrayList<>();
        String[] words = {"astronaut", "riding", "horse", "café", "🤖", "42", "isn't", "ultra-detailed", "Σίσυφος",
            "&amp;", "watercolour", "neon", "cyberpunk", "portrait", "by", "greg", "rutkowski"};
        for (int i = 0; i < 4000; i++) {
            var prompt = new StringBuilder();
            for (int w = 0; w < 3 + i % 9; w++) {
                prompt.append(words[(i * 7 + w * 13 + w * w) % words.length]).append(i % (w + 2) == 0 ? ", " : " ");
            }
            prompts.add(prompt.append(i).toString());
        }
        int[][] sequential = ClipTokenizer.load(SD1_TOKENIZER).tokenize(prompts);
        // A fresh instance, so that the threads also race to fill its word cache.
        ClipTokenizer shared = ClipTokenizer.load(SD1_TOKENIZER);
        int[][] parallel = IntStream.range(0, prompts.size()).parallel()
            .mapToObj(i -> shared.tokenize(prompts.get(i))).toArray(int[][]::new);
        for (int i = 0; i < prompts.size(); i++) {
            assertArrayEquals(sequential[i], parallel[i], prompts.get(i));
        }
    }

    private static void copyVocabulary(Path dir) throws IOException {
        Files.copy(SD1_TOKENIZER.resolve("vocab.json"), dir.resolve("vocab.json"));
        Files.copy(SD1_TOKENIZER.resolve("merges.txt"), dir.resolve("merges.txt"));
    }
}
