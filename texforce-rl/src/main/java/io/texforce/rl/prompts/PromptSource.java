package io.texforce.rl.prompts;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import io.texforce.tensor.random.Generator;

import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;

/**
 * Where training prompts come from: a fixed list from which each sample draws uniformly (as DDPO's prompt
 * functions do). Specs for the command line: {@code animals} (DDPO's 45 simple animals), {@code phrases} (the
 * TexForce paper's single phrases), {@code text:PROMPT} (one prompt), {@code file:PATH} (one prompt per line),
 * {@code json:PATH} or {@code json:PATH#KEY} (a JSON list of strings, or of objects whose KEY is the prompt).
 */
public record PromptSource(String name, List<String> prompts) {

    public PromptSource {
        if (prompts.isEmpty()) {
            throw new IllegalArgumentException("prompt source '" + name + "' has no prompts");
        }
        prompts = List.copyOf(prompts);
    }

    /** One prompt drawn uniformly with {@code rng}. */
    public String sample(Generator rng) {
        float u = rng.rand(1).item();
        return prompts.get(Math.min(prompts.size() - 1, (int) (u * prompts.size())));
    }

    /** The i-th prompt, cycling: deterministic evaluation sets. */
    public String get(int i) {
        return prompts.get(Math.floorMod(i, prompts.size()));
    }

    public static PromptSource animals() {
        return new PromptSource("animals", PromptLists.SIMPLE_ANIMALS);
    }

    public static PromptSource phrases() {
        return new PromptSource("phrases", PromptLists.PAPER_PHRASES);
    }

    public static PromptSource of(String... prompts) {
        return new PromptSource(prompts.length == 1 ? prompts[0] : "list", List.of(prompts));
    }

    public static PromptSource parse(String spec) {
        if (spec.equals("animals")) {
            return animals();
        }
        if (spec.equals("phrases")) {
            return phrases();
        }
        if (spec.startsWith("text:")) {
            return of(spec.substring(5));
        }
        if (spec.startsWith("file:")) {
            return fromFile(Path.of(spec.substring(5)));
        }
        if (spec.startsWith("json:")) {
            String rest = spec.substring(5);
            int hash = rest.lastIndexOf('#');
            return hash < 0 ? fromJson(Path.of(rest), null) : fromJson(Path.of(rest.substring(0, hash)), rest.substring(hash + 1));
        }
        Path p = Path.of(spec);
        if (Files.isRegularFile(p)) {
            return spec.endsWith(".json") ? fromJson(p, null) : fromFile(p);
        }
        throw new IllegalArgumentException("unknown prompt source '" + spec + "' (animals, phrases, text:PROMPT, "
                + "file:PATH, json:PATH[#KEY])");
    }

    /** Non-blank lines of a text file, trimmed. */
    public static PromptSource fromFile(Path file) {
        try {
            List<String> lines = new ArrayList<>();
            for (String l : Files.readAllLines(file)) {
                if (!l.isBlank()) {
                    lines.add(l.strip());
                }
            }
            return new PromptSource(file.toString(), lines);
        } catch (IOException e) {
            throw new IllegalArgumentException("cannot read prompts from " + file + ": " + e.getMessage(), e);
        }
    }

    /** A JSON array of strings, or of objects holding the prompt under {@code key}. */
    public static PromptSource fromJson(Path file, String key) {
        JsonNode root;
        try {
            root = new ObjectMapper().readTree(file.toFile());
        } catch (IOException e) {
            throw new IllegalArgumentException("cannot read prompts from " + file + ": " + e.getMessage(), e);
        }
        if (root == null || !root.isArray()) {
            throw new IllegalArgumentException(file + ": expected a JSON list of prompts");
        }
        List<String> out = new ArrayList<>();
        for (int i = 0; i < root.size(); i++) {
            JsonNode e = root.get(i);
            JsonNode v = key == null ? e : e.get(key);
            if (v == null || !v.isTextual()) {
                throw new IllegalArgumentException(file + ": entry " + i + (key == null ? " is not a string"
                        : " has no string field '" + key + "'"));
            }
            out.add(v.asText());
        }
        return new PromptSource(file.toString(), out);
    }
}
