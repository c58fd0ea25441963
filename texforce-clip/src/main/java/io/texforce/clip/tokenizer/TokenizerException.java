package io.texforce.clip.tokenizer;

/** A tokenizer folder that cannot be loaded: a missing file, malformed JSON, or an inconsistent vocabulary. */
public final class TokenizerException extends RuntimeException {
    public TokenizerException(String message) {
        super(message);
    }

    public TokenizerException(String message, Throwable cause) {
        super(message, cause);
    }
}
