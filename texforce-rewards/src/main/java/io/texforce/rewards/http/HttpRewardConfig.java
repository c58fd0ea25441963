package io.texforce.rewards.http;

import java.net.URI;
import java.time.Duration;

/**
 * How {@link HttpReward} talks to a reward service.
 *
 * @param url            the endpoint images are POSTed to
 * @param connectTimeout limit for opening a connection
 * @param requestTimeout limit for one request, from sending to the whole response
 * @param maxAttempts    tries per request (1 = no retries); connection failures, timeouts, 429 and 5xx are retried
 * @param backoff        wait before the first retry; doubled before each further one
 * @param maxConcurrent  requests in flight at once, across all callers of one reward
 * @param maxBatch       images per request; larger batches are split
 */
public record HttpRewardConfig(URI url, Duration connectTimeout, Duration requestTimeout, int maxAttempts,
                               Duration backoff, int maxConcurrent, int maxBatch) {
    public HttpRewardConfig {
        String scheme = url.getScheme();
        if (!"http".equals(scheme) && !"https".equals(scheme)) {
            throw new IllegalArgumentException("reward URL " + url + " is not an http:// or https:// URL");
        }
        if (maxAttempts < 1 || maxConcurrent < 1 || maxBatch < 1) {
            throw new IllegalArgumentException("reward service " + url + ": attempts (" + maxAttempts + "), concurrency ("
                    + maxConcurrent + ") and batch size (" + maxBatch + ") must be at least 1");
        }
    }

    /** Defaults: 10 s to connect, 120 s per request, 3 attempts from 1 s backoff, 4 requests in flight, 16 images each. */
    public static HttpRewardConfig of(URI url) {
        return new HttpRewardConfig(url, Duration.ofSeconds(10), Duration.ofSeconds(120), 3, Duration.ofSeconds(1), 4,
                16);
    }

    public HttpRewardConfig withTimeouts(Duration connect, Duration request) {
        return new HttpRewardConfig(url, connect, request, maxAttempts, backoff, maxConcurrent, maxBatch);
    }

    public HttpRewardConfig withRetries(int attempts, Duration firstBackoff) {
        return new HttpRewardConfig(url, connectTimeout, requestTimeout, attempts, firstBackoff, maxConcurrent, maxBatch);
    }

    public HttpRewardConfig withConcurrency(int requests, int imagesPerRequest) {
        return new HttpRewardConfig(url, connectTimeout, requestTimeout, maxAttempts, backoff, requests,
                imagesPerRequest);
    }
}
