package io.texforce.rewards;

import io.texforce.tensor.Tensor;

import java.util.List;
import java.util.Locale;
import java.util.stream.Collectors;

/**
 * A weighted sum of rewards, {@code sum_i w_i * r_i}. An image that any term cannot score (NaN) gets NaN.
 */
public final class WeightedSum implements Reward {
    /** One reward and its weight. */
    public record Term(Reward reward, float weight) {
    }

    private final List<Term> terms;

    public WeightedSum(List<Term> terms) {
        if (terms.isEmpty()) {
            throw new IllegalArgumentException("a weighted reward needs at least one term");
        }
        this.terms = List.copyOf(terms);
    }

    public List<Term> terms() {
        return terms;
    }

    /** E.g. {@code 1*aesthetic+0.5*clip-score}. */
    @Override
    public String name() {
        return terms.stream().map(t -> String.format(Locale.ROOT, "%s*%s", trim(t.weight()), t.reward().name()))
                .collect(Collectors.joining("+"));
    }

    private static String trim(float w) {
        return w == (long) w ? Long.toString((long) w) : Float.toString(w);
    }

    @Override
    public float[] score(Tensor images, List<String> prompts) {
        float[] total = new float[images.size(0)];
        for (Term t : terms) {
            float[] s = t.reward().score(images, prompts);
            if (s.length != total.length) {
                throw new IllegalStateException("reward " + t.reward().name() + " returned " + s.length + " scores for "
                        + total.length + " images");
            }
            for (int i = 0; i < total.length; i++) {
                total[i] += t.weight() * s[i];
            }
        }
        return total;
    }

    /** Closes every term, even when one fails. */
    @Override
    public void close() {
        RuntimeException first = null;
        for (Term t : terms) {
            try {
                t.reward().close();
            } catch (RuntimeException e) {
                if (first == null) {
                    first = e;
                } else {
                    first.addSuppressed(e);
                }
            }
        }
        if (first != null) {
            throw first;
        }
    }
}
