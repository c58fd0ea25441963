package io.texforce.rl.prompts;

import java.util.List;

/** Prompt sets of the DDPO and TexForce papers. */
final class PromptLists {
    private PromptLists() {
    }

    /** DDPO's simple animals (its {@code simple_animals.txt}, 45 entries). */
    static final List<String> SIMPLE_ANIMALS = List.of("cat", "dog", "horse", "monkey", "rabbit", "zebra", "spider",
            "bird", "sheep", "deer", "cow", "goat", "lion", "tiger", "bear", "raccoon", "fox", "wolf", "lizard",
            "beetle", "ant", "butterfly", "fish", "shark", "whale", "dolphin", "squirrel", "mouse", "rat", "snake",
            "turtle", "frog", "chicken", "duck", "goose", "bee", "pig", "turkey", "fly", "llama", "camel", "bat",
            "gorilla", "hedgehog", "kangaroo");

    /** The single phrases the TexForce paper trains on. */
    static final List<String> PAPER_PHRASES = List.of("a green colored rabbit", "A cat and a dog",
            "Four wolves in the park", "A dog on the moon", "A photo of a hand", "a complete face of a man",
            "a complete face of a woman");
}
