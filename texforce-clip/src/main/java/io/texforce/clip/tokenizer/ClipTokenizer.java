package io.texforce.clip.tokenizer;

import it.unimi.dsi.fastutil.ints.IntArrayList;
import java.io.ByteArrayOutputStream;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.Arrays;
import java.util.List;
import java.util.Map;
import java.util.concurrent.ConcurrentHashMap;
import java.util.regex.Matcher;
import java.util.regex.Pattern;

/**
 * CLIP's byte-level BPE tokenizer, giving the same ids as OpenAI CLIP's {@code simple_tokenizer}, which
 * Stable Diffusion's and the reward models' goldens were made with.
 *
 * <p>A prompt is cleaned (see below), split into words by CLIP's pattern (the two special tokens,
 * contractions such as {@code 's}, runs of letters, single digits, runs of other non-space characters),
 * and each word's UTF-8 bytes are merged by the ranked BPE rules, its last symbol carrying the
 * end-of-word mark {@code </w>}.
 *
 * <p>Clean-up: CLIP runs {@code ftfy.fix_text}, unescapes HTML twice, collapses whitespace and lower-cases.
 * ftfy is stood in for by its deterministic fixes (control characters, C1 controls, ligatures, width,
 * curly quotes, NFC normalisation, its own HTML unescaping); its heuristic mojibake repair is not done, and
 * named HTML entities are limited to the Latin-1 set and common punctuation ({@code &amp; &lt; &gt; &quot;
 * &apos; &nbsp; &eacute; &hellip; ...}), numeric ones ({@code &#39; &#x27;}) being complete.
 *
 * <p>Instances are immutable apart from a bounded word cache and are safe to share between threads.
 */
public final class ClipTokenizer {
    /** CLIP's word pattern; the text is already lower-case, so case-insensitivity only mirrors the original. */
    private static final Pattern WORDS = Pattern.compile(
        "<\\|startoftext\\|>|<\\|endoftext\\|>|'s|'t|'re|'ve|'m|'ll|'d|\\p{L}+|\\p{N}|[^\\s\\p{L}\\p{N}]+",
        Pattern.CASE_INSENSITIVE | Pattern.UNICODE_CASE | Pattern.UNICODE_CHARACTER_CLASS);
    static final String END_OF_WORD = "</w>";
    /** Enough for the distinct words of a large prompt set; past it the cache starts over. */
    private static final int WORD_CACHE_CAPACITY = 100_000;

    private final Vocabulary vocabulary;
    private final BpeMerges merges;
    private final int[] byteIds;
    private final int[] finalByteIds;
    private final int startOfTextId;
    private final int endOfTextId;
    private final int bosId;
    private final int eosId;
    private final int padId;
    private final int maxLength;
    private final Map<String, int[]> wordCache;

    private ClipTokenizer(Vocabulary vocabulary, BpeMerges merges, int[] byteIds, int[] finalByteIds,
            int bosId, int eosId, int padId, int maxLength, Map<String, int[]> wordCache) {
        this.vocabulary = vocabulary;
        this.merges = merges;
        this.byteIds = byteIds;
        this.finalByteIds = finalByteIds;
        this.startOfTextId = vocabulary.id(TokenizerConfig.START_OF_TEXT);
        this.endOfTextId = vocabulary.id(TokenizerConfig.END_OF_TEXT);
        this.bosId = bosId;
        this.eosId = eosId;
        this.padId = padId;
        this.maxLength = maxLength;
        this.wordCache = wordCache;
    }

    /**
     * Loads a tokenizer folder: {@code vocab.json} and {@code merges.txt} (or, without them, a tokenizers-library
     * {@code tokenizer.json} as transformers 5 saves it), and optionally
     * {@code tokenizer_config.json} / {@code special_tokens_map.json} for the BOS, EOS and pad tokens and
     * {@code model_max_length} (see {@link #maxLength()}). Every merge in the file is used; CLIP's files hold
     * exactly the 48,894 that CLIP uses.
     *
     * @throws TokenizerException if a required file is missing, a file is malformed, or the vocabulary lacks
     *                            a token that the merges or special tokens need
     */
    public static ClipTokenizer load(Path dir) {
        Path vocabFile = dir.resolve("vocab.json");
        Path tokenizerJson = dir.resolve("tokenizer.json");
        Vocabulary vocabulary;
        BpeMerges merges;
        if (!Files.exists(vocabFile) && !Files.exists(tokenizerJson)) {
            throw new TokenizerException("no tokenizer in " + dir + ": vocab.json is missing (expected vocab.json and"
                + " merges.txt, or tokenizer.json)");
        }
        if (!Files.exists(vocabFile)) {
            // transformers 5 saves tokenizer.json alone
            TokenizerJson t = TokenizerJson.read(tokenizerJson);
            vocabFile = tokenizerJson;
            vocabulary = t.vocabulary;
            merges = t.merges;
        } else {
            vocabulary = Vocabulary.read(vocabFile);
            merges = BpeMerges.read(dir.resolve("merges.txt"), vocabulary);
        }
        TokenizerConfig config = TokenizerConfig.read(dir);
        int[] byteIds = new int[256];
        int[] finalByteIds = new int[256];
        for (int b = 0; b < 256; b++) {
            String symbol = String.valueOf(ByteAlphabet.charOf(b));
            byteIds[b] = requireToken(vocabulary, symbol, "byte symbol", vocabFile);
            finalByteIds[b] = requireToken(vocabulary, symbol + END_OF_WORD, "byte symbol", vocabFile);
        }
        requireToken(vocabulary, TokenizerConfig.START_OF_TEXT, "special token", vocabFile);
        requireToken(vocabulary, TokenizerConfig.END_OF_TEXT, "special token", vocabFile);
        return new ClipTokenizer(vocabulary, merges, byteIds, finalByteIds,
            requireToken(vocabulary, config.bosToken(), "bos_token", vocabFile),
            requireToken(vocabulary, config.eosToken(), "eos_token", vocabFile),
            requireToken(vocabulary, config.padToken(), "pad_token", vocabFile),
            config.maxLength(), new ConcurrentHashMap<>());
    }

    /** Whether {@code dir} holds tokenizer files {@link #load} reads (vocab.json, or tokenizer.json). */
    public static boolean isTokenizerFolder(Path dir) {
        return Files.isRegularFile(dir.resolve("vocab.json")) || Files.isRegularFile(dir.resolve("tokenizer.json"));
    }

    private static int requireToken(Vocabulary vocabulary, String token, String role, Path vocabFile) {
        int id = vocabulary.id(token);
        if (id < 0) {
            throw new TokenizerException(vocabFile + " has no " + role + " '" + token + "'");
        }
        return id;
    }

    /**
     * This tokenizer padding with {@code padId} instead; OpenAI CLIP itself pads with 0, transformers' CLIP
     * tokenizers with {@code <|endoftext|>}. The vocabulary and word cache are shared.
     */
    public ClipTokenizer withPadId(int padId) {
        if (vocabulary.token(padId) == null) {
            throw new IllegalArgumentException("pad id " + padId + " is not in the vocabulary (ids 0.."
                + (vocabulary.idLimit() - 1) + ")");
        }
        return new ClipTokenizer(vocabulary, merges, byteIds, finalByteIds, bosId, eosId, padId, maxLength, wordCache);
    }

    /** The ids of {@code text}'s tokens, without start, end or padding tokens and without truncation. */
    public int[] encode(String text) {
        var ids = new IntArrayList();
        Matcher words = WORDS.matcher(TextCleaner.clean(text));
        while (words.find()) {
            ids.addElements(ids.size(), wordIds(words.group()));
        }
        return ids.toIntArray();
    }

    private int[] wordIds(String word) {
        int[] cached = wordCache.get(word);
        if (cached != null) {
            return cached;
        }
        int[] ids = switch (word) {
            case TokenizerConfig.START_OF_TEXT -> new int[] {startOfTextId};
            case TokenizerConfig.END_OF_TEXT -> new int[] {endOfTextId};
            default -> merges.apply(initialSymbols(word));
        };
        // Clearing is crude but keeps memory bounded without bookkeeping on every hit.
        if (wordCache.size() >= WORD_CACHE_CAPACITY) {
            wordCache.clear();
        }
        wordCache.put(word, ids);
        return ids;
    }

    /** One symbol per UTF-8 byte; the last one marks the end of the word. */
    private int[] initialSymbols(String word) {
        byte[] bytes = word.getBytes(StandardCharsets.UTF_8);
        int[] symbols = new int[bytes.length];
        for (int i = 0; i < bytes.length - 1; i++) {
            symbols[i] = byteIds[bytes[i] & 0xFF];
        }
        symbols[bytes.length - 1] = finalByteIds[bytes[bytes.length - 1] & 0xFF];
        return symbols;
    }

    /**
     * The model input for {@code prompt}: {@link #bosId()}, the prompt's tokens truncated to
     * {@code maxLength() - 2}, {@link #eosId()}, then {@link #padId()} up to {@link #maxLength()} ids.
     */
    public int[] tokenize(String prompt) {
        int[] tokens = encode(prompt);
        int kept = Math.min(tokens.length, maxLength - 2);
        int[] ids = new int[maxLength];
        ids[0] = bosId;
        System.arraycopy(tokens, 0, ids, 1, kept);
        ids[kept + 1] = eosId;
        Arrays.fill(ids, kept + 2, maxLength, padId);
        return ids;
    }

    /** {@link #tokenize(String)} of each prompt: a {@code [prompts.size(), maxLength()]} batch. */
    public int[][] tokenize(List<String> prompts) {
        int[][] batch = new int[prompts.size()][];
        for (int i = 0; i < batch.length; i++) {
            batch[i] = tokenize(prompts.get(i));
        }
        return batch;
    }

    /**
     * The position of the first {@link #eosId()} in {@code ids}: where CLIP pools a tokenized prompt (the
     * first one also when padding uses the EOS id).
     *
     * @throws IllegalArgumentException if {@code ids} has no EOS
     */
    public int eosIndex(int[] ids) {
        for (int i = 0; i < ids.length; i++) {
            if (ids[i] == eosId) {
                return i;
            }
        }
        throw new IllegalArgumentException("no end-of-text id " + eosId + " among " + ids.length + " ids");
    }

    /**
     * The text of {@code ids}, every id included (special tokens and padding appear as their token strings),
     * each end of word becoming a space and the result stripped, as transformers' CLIP tokenizer decodes.
     * Byte sequences that are not UTF-8 become U+FFFD.
     *
     * @throws IllegalArgumentException for an id that is not in the vocabulary
     */
    public String decode(int[] ids) {
        var bytes = new ByteArrayOutputStream(ids.length * 4);
        for (int id : ids) {
            String token = vocabulary.token(id);
            if (token == null) {
                throw new IllegalArgumentException("id " + id + " is not in the vocabulary");
            }
            for (int i = 0; i < token.length(); i++) {
                int b = ByteAlphabet.byteOf(token.charAt(i));
                if (b < 0) {
                    throw new IllegalArgumentException("token " + id + " '" + token + "' has a character outside"
                        + " the byte alphabet");
                }
                bytes.write(b);
            }
        }
        return bytes.toString(StandardCharsets.UTF_8).replace(END_OF_WORD, " ").strip();
    }

    /** The id that starts every tokenized prompt ({@code <|startoftext|>}, 49406 in CLIP). */
    public int bosId() {
        return bosId;
    }

    /** The id that ends every tokenized prompt ({@code <|endoftext|>}, 49407 in CLIP). */
    public int eosId() {
        return eosId;
    }

    /** The id that fills a tokenized prompt after its EOS: 49407 for SD 1.x, 0 ({@code !}) for SD 2.x. */
    public int padId() {
        return padId;
    }

    /**
     * The length of a tokenized prompt: the folder's {@code model_max_length} when it is at most 77, else
     * CLIP's context length 77.
     */
    public int maxLength() {
        return maxLength;
    }

    /** The number of tokens in the vocabulary (49,408 for CLIP). */
    public int vocabSize() {
        return vocabulary.size();
    }
}
