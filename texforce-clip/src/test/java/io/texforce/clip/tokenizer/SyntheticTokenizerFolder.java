package io.texforce.clip.tokenizer;

import com.fasterxml.jackson.databind.ObjectMapper;
import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;

/** Writes small tokenizer folders: the 512 byte symbols, chosen merges, and the two special tokens. */
final class SyntheticTokenizerFolder {
    private SyntheticTokenizerFolder() {
    }

    /** The vocabulary in id order: bytes, bytes with {@code </w>}, the merge results, then the specials. */
    static Map<String, Integer> vocabulary(List<String> merges) {
        var vocab = new LinkedHashMap<String, Integer>();
        for (int b = 0; b < 256; b++) {
            vocab.put(String.valueOf(ByteAlphabet.charOf(b)), vocab.size());
        }
        for (int b = 0; b < 256; b++) {
            vocab.put(ByteAlphabet.charOf(b) + "</w>", vocab.size());
        }
        for (String merge : merges) {
            vocab.putIfAbsent(merge.replace(" ", ""), vocab.size());
        }
        vocab.put("<|startoftext|>", vocab.size());
        vocab.put("<|endoftext|>", vocab.size());
        return vocab;
    }

    static void write(Path dir, Map<String, Integer> vocabulary, List<String> merges) throws IOException {
        new ObjectMapper().writeValue(dir.resolve("vocab.json").toFile(), vocabulary);
        Files.writeString(dir.resolve("merges.txt"), "#version: 0.2\n" + String.join("\n", merges) + "\n");
    }

    static Path write(Path dir, List<String> merges) throws IOException {
        write(dir, vocabulary(merges), merges);
        return dir;
    }
}
