package io.texforce.clip.tokenizer;

import it.unimi.dsi.fastutil.ints.IntArrayList;
import it.unimi.dsi.fastutil.longs.Long2IntOpenHashMap;
import java.io.BufferedReader;
import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.NoSuchFileException;
import java.nio.file.Path;
import java.util.Arrays;

/**
 * The ranked merge rules of {@code merges.txt}, applied to words whose symbols are vocabulary ids.
 *
 * <p>Every symbol a merge can produce must itself be in the vocabulary, so a word never needs its symbols
 * as strings: a pair of ids is looked up as one {@code long} key.
 */
final class BpeMerges {
    private static final int NO_RANK = -1;

    private final Long2IntOpenHashMap rankByPair;
    private final int[] mergedIdByRank;

    private BpeMerges(Long2IntOpenHashMap rankByPair, int[] mergedIdByRank) {
        this.rankByPair = rankByPair;
        this.mergedIdByRank = mergedIdByRank;
    }

    /**
     * Reads one merge per line, {@code left right}, highest priority first; a first line starting with
     * {@code #} (the {@code #version: 0.2} header) and blank lines are skipped.
     */
    static BpeMerges read(Path file, Vocabulary vocabulary) {
        var rankByPair = new Long2IntOpenHashMap(65_536);
        rankByPair.defaultReturnValue(NO_RANK);
        var mergedIds = new IntArrayList(65_536);
        try (BufferedReader reader = Files.newBufferedReader(file)) {
            String line;
            int lineNumber = 0;
            while ((line = reader.readLine()) != null) {
                lineNumber++;
                if ((lineNumber == 1 && line.startsWith("#")) || line.isBlank()) {
                    continue;
                }
                String merge = line.strip();
                int space = merge.indexOf(' ');
                if (space < 0 || merge.indexOf(' ', space + 1) >= 0) {
                    throw new TokenizerException(file + " line " + lineNumber + ": expected two symbols separated"
                        + " by one space, found " + merge.split("\\s+").length + " field(s) in '" + line + "'");
                }
                add(rankByPair, mergedIds, vocabulary, merge.substring(0, space), merge.substring(space + 1),
                    file + " line " + lineNumber);
            }
        } catch (NoSuchFileException e) {
            throw new TokenizerException("missing merges file " + file, e);
        } catch (IOException e) {
            throw new TokenizerException("cannot read " + file + ": " + e.getMessage(), e);
        }
        return new BpeMerges(rankByPair, mergedIds.toIntArray());
    }

    /** Merges given as (left, right) pairs, highest priority first; {@code where} names entry i in errors. */
    static BpeMerges of(java.util.List<String[]> merges, Vocabulary vocabulary, java.util.function.IntFunction<String> where) {
        var rankByPair = new Long2IntOpenHashMap(merges.size());
        rankByPair.defaultReturnValue(NO_RANK);
        var mergedIds = new IntArrayList(merges.size());
        for (int i = 0; i < merges.size(); i++) {
            add(rankByPair, mergedIds, vocabulary, merges.get(i)[0], merges.get(i)[1], where.apply(i));
        }
        return new BpeMerges(rankByPair, mergedIds.toIntArray());
    }

    private static void add(Long2IntOpenHashMap rankByPair, IntArrayList mergedIds, Vocabulary vocabulary,
                            String leftSymbol, String rightSymbol, String where) {
        int left = symbolId(vocabulary, leftSymbol, where);
        int right = symbolId(vocabulary, rightSymbol, where);
        int merged = vocabulary.id(leftSymbol + rightSymbol);
        if (merged < 0) {
            throw new TokenizerException(where + ": the merge of '" + leftSymbol + "' and '" + rightSymbol
                + "' gives '" + leftSymbol + rightSymbol + "', which is not in the vocabulary");
        }
        // A repeated pair takes its later rank, as a Python dict built from the list would.
        rankByPair.put(pairKey(left, right), mergedIds.size());
        mergedIds.add(merged);
    }

    private static int symbolId(Vocabulary vocabulary, String symbol, String where) {
        int id = vocabulary.id(symbol);
        if (id < 0) {
            throw new TokenizerException(where + ": symbol '" + symbol + "' is not in the vocabulary");
        }
        return id;
    }

    private static long pairKey(int left, int right) {
        return ((long) left << 32) | (right & 0xFFFF_FFFFL);
    }

    /**
     * Repeatedly merges the adjacent pair with the best (lowest) rank, every non-overlapping occurrence of it
     * from left to right, until no adjacent pair has a rank.
     *
     * @param symbols the word's initial symbol ids; not modified
     * @return the ids of the merged symbols
     */
    int[] apply(int[] symbols) {
        int[] word = symbols.clone();
        int length = word.length;
        while (length > 1) {
            int bestRank = Integer.MAX_VALUE;
            int bestAt = -1;
            for (int i = 0; i + 1 < length; i++) {
                int rank = rankByPair.get(pairKey(word[i], word[i + 1]));
                if (rank != NO_RANK && rank < bestRank) {
                    bestRank = rank;
                    bestAt = i;
                }
            }
            if (bestAt < 0) {
                break;
            }
            int left = word[bestAt];
            int right = word[bestAt + 1];
            int merged = mergedIdByRank[bestRank];
            int kept = 0;
            for (int i = 0; i < length; i++) {
                if (i + 1 < length && word[i] == left && word[i + 1] == right) {
                    word[kept++] = merged;
                    i++;
                } else {
                    word[kept++] = word[i];
                }
            }
            length = kept;
        }
        return length == word.length ? word : Arrays.copyOf(word, length);
    }
}
