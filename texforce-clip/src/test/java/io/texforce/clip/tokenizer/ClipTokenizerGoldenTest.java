package io.texforce.clip.tokenizer;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import io.texforce.tensor.TestData;
import io.texforce.tensor.io.SafeTensors;
import java.io.IOException;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.List;
import org.junit.jupiter.api.Test;

/** Token ids against the goldens made with OpenAI CLIP's own tokenizer. */
class ClipTokenizerGoldenTest {
    @Test
    void sd1PromptsMatchOpenAiClipIdsRowByRow() throws IOException {
        Path golden = TestData.tinySd1().resolve("golden");
        List<String> prompts = prompts(golden.resolve("golden.json"));
        ClipTokenizer tokenizer = ClipTokenizer.load(TestData.tinySd1().resolve("tokenizer"));
        assertEquals(49407, tokenizer.padId(), "SD 1.x pads with <|endoftext|>");

        int[][] expected = goldenRows(golden.resolve("golden.safetensors"), "tokens.input_ids", prompts.size());
        int[][] actual = tokenizer.tokenize(prompts);
        assertRowsEqual(prompts, expected, actual);
        for (int[] row : actual) {
            assertEquals(indexOf(row, 49407), tokenizer.eosIndex(row));
        }
        // The longest golden prompt has 73 tokens, so its EOS lands at 74.
        assertEquals(74, tokenizer.eosIndex(actual[prompts.size() - 1]));
    }

    @Test
    void tinyClipPromptsMatchOpenAiClipIdsPaddedWithZero() throws IOException {
        Path golden = TestData.tinyClip().resolve("golden");
        List<String> prompts = prompts(golden.resolve("golden.json"));
        // The hf/ folder has no tokenizer_config.json, so it pads with <|endoftext|> like transformers;
        // the golden was made by OpenAI CLIP, which pads with 0.
        ClipTokenizer hf = ClipTokenizer.load(TestData.tinyClip().resolve("hf"));
        assertEquals(49407, hf.padId());
        ClipTokenizer openAi = hf.withPadId(0);

        int[][] expected = goldenRows(golden.resolve("golden.safetensors"), "input_ids", prompts.size());
        assertRowsEqual(prompts, expected, openAi.tokenize(prompts));
        for (int[] row : expected) {
            // OpenAI CLIP pools at the argmax id, which is the first (only) EOS.
            assertEquals(indexOfMax(row), openAi.eosIndex(row));
        }
    }

    private static List<String> prompts(Path goldenJson) throws IOException {
        JsonNode node = new ObjectMapper().readTree(goldenJson.toFile()).get("prompts");
        List<String> prompts = new ArrayList<>();
        node.forEach(p -> prompts.add(p.asText()));
        return prompts;
    }

    private static int[][] goldenRows(Path file, String key, int rows) {
        try (SafeTensors golden = SafeTensors.open(file)) {
            assertArrayEquals(new int[] {rows, 77}, golden.info(key).shape(), key + " shape");
            int[] flat = golden.ints(key);
            int[][] out = new int[rows][];
            for (int r = 0; r < rows; r++) {
                out[r] = Arrays.copyOfRange(flat, r * 77, (r + 1) * 77);
            }
            return out;
        }
    }

    private static void assertRowsEqual(List<String> prompts, int[][] expected, int[][] actual) {
        int mismatches = 0;
        var report = new StringBuilder();
        for (int r = 0; r < expected.length; r++) {
            if (!Arrays.equals(expected[r], actual[r])) {
                mismatches++;
                report.append("\nprompt ").append(r).append(" '").append(prompts.get(r)).append("'\n  expected ")
                    .append(Arrays.toString(expected[r])).append("\n  actual   ").append(Arrays.toString(actual[r]));
            }
        }
        System.out.printf("golden token ids: %d of %d rows identical%n", expected.length - mismatches, expected.length);
        assertEquals(0, mismatches, "rows differing from the golden:" + report);
    }

    private static int indexOf(int[] row, int id) {
        for (int i = 0; i < row.length; i++) {
            if (row[i] == id) {
                return i;
            }
        }
        return -1;
    }

    private static int indexOfMax(int[] row) {
        int best = 0;
        for (int i = 1; i < row.length; i++) {
            if (row[i] > row[best]) {
                best = i;
            }
        }
        return best;
    }
}
