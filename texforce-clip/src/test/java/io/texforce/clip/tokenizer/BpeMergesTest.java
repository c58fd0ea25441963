package io.texforce.clip.tokenizer;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;

import java.io.IOException;
import java.nio.file.Path;
import java.util.List;
import java.util.Map;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/** The merge order of BPE on hand-made vocabularies, where the expected symbols can be worked out. */
class BpeMergesTest {
    @TempDir
    Path dir;

    private int[] encode(List<String> merges, String text) throws IOException {
        return ClipTokenizer.load(SyntheticTokenizerFolder.write(dir, merges)).encode(text);
    }

    private static int[] ids(List<String> merges, String... symbols) {
        Map<String, Integer> vocab = SyntheticTokenizerFolder.vocabulary(merges);
        int[] ids = new int[symbols.length];
        for (int i = 0; i < symbols.length; i++) {
            ids[i] = vocab.get(symbols[i]);
        }
        return ids;
    }

    @Test
    void lowerRankMergesFirstWhateverItsPosition() throws IOException {
        List<String> bcFirst = List.of("b c</w>", "a b");
        assertArrayEquals(ids(bcFirst, "a", "bc</w>"), encode(bcFirst, "abc"));
        List<String> abFirst = List.of("a b", "b c</w>");
        assertArrayEquals(ids(abFirst, "ab", "c</w>"), encode(abFirst, "abc"));
    }

    @Test
    void occurrencesMergeLeftToRightWithoutOverlap() throws IOException {
        // a a a a a</w>: one pass merges (a, a) at 0-1 and 2-3; the last a carries </w>, a different symbol.
        List<String> aa = List.of("a a");
        assertArrayEquals(ids(aa, "aa", "aa", "a</w>"), encode(aa, "aaaaa"));
        // a a a</w>: (a, a) at 0-1 uses the middle a, so (a, a</w>) is only possible in a later pass.
        List<String> both = List.of("a a", "a a</w>");
        assertArrayEquals(ids(both, "aa", "a</w>"), encode(both, "aaa"));
        assertArrayEquals(ids(both, "aa", "aa</w>"), encode(both, "aaaa"));
    }

    @Test
    void mergedSymbolsMergeFurtherAndUnmergeableWordsStayBytes() throws IOException {
        List<String> merges = List.of("c a", "ca t</w>", "d o");
        assertArrayEquals(ids(merges, "cat</w>", "do", "g</w>"), encode(merges, "cat dog"));
        assertArrayEquals(ids(merges, "x", "y</w>"), encode(merges, "xy"));
        assertArrayEquals(ids(merges, "q</w>"), encode(merges, "q"));
    }

    @Test
    void nonAsciiWordsAreMergedOverTheirUtf8Bytes() throws IOException {
        // é is C3 A9, which the byte alphabet writes as "Ã" and "©".
        List<String> merges = List.of("Ã ©</w>");
        assertArrayEquals(ids(merges, "c", "a", "f", "Ã©</w>"), encode(merges, "café"));
        assertEquals("café", ClipTokenizer.load(dir).decode(encode(merges, "café")));
    }
}
