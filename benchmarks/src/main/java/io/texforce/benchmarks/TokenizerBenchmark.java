package io.texforce.benchmarks;

import io.texforce.clip.tokenizer.ClipTokenizer;
import org.openjdk.jmh.annotations.Benchmark;
import org.openjdk.jmh.annotations.Level;
import org.openjdk.jmh.annotations.Setup;

import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import java.util.SplittableRandom;

/**
 * Tokenizing 10,000 distinct prompts (8-30 words drawn from DDPO-style subjects, styles and punctuation) with the
 * real 49,408-token CLIP vocabulary: {@code warm} reuses one tokenizer (its word cache fills as in a training run),
 * {@code cold} loads a fresh tokenizer (vocabulary parsing included) and tokenizes the same prompts.
 */
public class TokenizerBenchmark extends KernelBenchmark {
    private static final String[] WORDS = ("a photo of cat dog horse monkey rabbit zebra spider bird sheep deer cow "
            + "green colored four wolves in the park on moon hand complete face man woman highly detailed cinematic "
            + "art painting by greg rutkowski portrait old sea captain fantasy underwater coral, . ! 42 7 café "
            + "crème brûlée it's isn't hyper-realistic 8k trending artstation").split(" ");

    private ClipTokenizer tokenizer;
    private List<String> prompts;
    private Path dir;

    @Setup(Level.Trial)
    public void setUp() {
        dir = locate();
        tokenizer = ClipTokenizer.load(dir);
        SplittableRandom rnd = new SplittableRandom(1);
        prompts = new ArrayList<>();
        for (int i = 0; i < 10_000; i++) {
            int n = 8 + rnd.nextInt(23);
            StringBuilder sb = new StringBuilder();
            for (int w = 0; w < n; w++) {
                sb.append(w == 0 ? "" : " ").append(WORDS[rnd.nextInt(WORDS.length)]);
            }
            sb.append(' ').append(i);
            prompts.add(sb.toString());
        }
    }

    private static Path locate() {
        for (Path p = Path.of("").toAbsolutePath(); p != null; p = p.getParent()) {
            Path t = p.resolve("testdata/tiny-sd1/tokenizer");
            if (Files.isDirectory(t)) {
                return t;
            }
        }
        throw new IllegalStateException("testdata/tiny-sd1/tokenizer not found; run from the repository");
    }

    @Benchmark
    public int[][] warm() {
        return tokenizer.tokenize(prompts);
    }

    @Benchmark
    public int[][] cold() {
        return ClipTokenizer.load(dir).tokenize(prompts);
    }
}
