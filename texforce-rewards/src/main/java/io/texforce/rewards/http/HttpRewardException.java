package io.texforce.rewards.http;

/** A reward service that could not be reached, kept failing, or answered something other than the protocol. */
public final class HttpRewardException extends RuntimeException {
    public HttpRewardException(String message) {
        super(message);
    }

    public HttpRewardException(String message, Throwable cause) {
        super(message, cause);
    }
}
