package io.texforce.clip.tokenizer;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;

import java.io.IOException;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;

/**
 * The vocabulary and merges of a Hugging Face {@code tokenizer.json} (the tokenizers library's format, the only
 * file transformers 5 saves for a CLIP tokenizer): {@code model.vocab} and {@code model.merges}, the latter as
 * {@code "left right"} strings (older files) or {@code [left, right]} pairs. Only CLIP's byte-level BPE with the
 * {@code </w>} end-of-word suffix is accepted; the pre-tokenizer and normalizer are CLIP's own, as in vocab.json
 * folders.
 */
final class TokenizerJson {
    final Vocabulary vocabulary;
    final BpeMerges merges;

    private TokenizerJson(Vocabulary vocabulary, BpeMerges merges) {
        this.vocabulary = vocabulary;
        this.merges = merges;
    }

    static TokenizerJson read(Path file) {
        JsonNode model;
        try {
            model = new ObjectMapper().readTree(file.toFile()).path("model");
        } catch (IOException e) {
            throw new TokenizerException("cannot read " + file + ": " + e.getMessage(), e);
        }
        String type = model.path("type").asText("");
        String suffix = model.path("end_of_word_suffix").asText("");
        if (!type.equals("BPE") || !suffix.equals(ClipTokenizer.END_OF_WORD)) {
            throw new TokenizerException(file + ": model type '" + type + "' with end-of-word suffix '" + suffix
                + "' is not CLIP's byte-level BPE (BPE with '" + ClipTokenizer.END_OF_WORD + "')");
        }
        JsonNode vocab = model.path("vocab");
        if (!vocab.isObject() || vocab.isEmpty()) {
            throw new TokenizerException(file + ": no model.vocab object");
        }
        Map<String, Integer> ids = new LinkedHashMap<>();
        for (var it = vocab.properties().iterator(); it.hasNext(); ) {
            var e = it.next();
            if (!e.getValue().canConvertToInt()) {
                throw new TokenizerException(file + ": token '" + e.getKey() + "' has id " + e.getValue()
                    + ", expected an integer");
            }
            ids.put(e.getKey(), e.getValue().asInt());
        }
        Vocabulary vocabulary = Vocabulary.of(ids, file.toString());
        JsonNode mergeNodes = model.path("merges");
        if (!mergeNodes.isArray()) {
            throw new TokenizerException(file + ": no model.merges list");
        }
        List<String[]> merges = new ArrayList<>(mergeNodes.size());
        for (int i = 0; i < mergeNodes.size(); i++) {
            JsonNode m = mergeNodes.get(i);
            String[] pair = m.isArray() && m.size() == 2 ? new String[]{m.get(0).asText(), m.get(1).asText()}
                : m.isTextual() ? m.asText().split(" ", -1) : null;
            if (pair == null || pair.length != 2) {
                throw new TokenizerException(file + ": merge " + i + " is " + m + ", expected \"left right\" or"
                    + " [left, right]");
            }
            merges.add(pair);
        }
        return new TokenizerJson(vocabulary, BpeMerges.of(merges, vocabulary, i -> file + " merge " + i));
    }
}
