package io.texforce.cli;

/** A mistake in the user's input: printed as one line on stderr, never as a stack trace. */
public final class UserError extends RuntimeException {
    public UserError(String message) {
        super(message);
    }
}
