package io.texforce.rewards.http;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import com.fasterxml.jackson.databind.node.ArrayNode;
import com.fasterxml.jackson.databind.node.ObjectNode;
import io.texforce.rewards.Reward;
import io.texforce.tensor.Tensor;
import io.texforce.tensor.io.Images;

import java.io.IOException;
import java.net.http.HttpClient;
import java.net.http.HttpRequest;
import java.net.http.HttpResponse;
import java.net.http.HttpTimeoutException;
import java.util.ArrayList;
import java.util.Base64;
import java.util.List;
import java.util.concurrent.ExecutionException;
import java.util.concurrent.ExecutorService;
import java.util.concurrent.Executors;
import java.util.concurrent.Future;
import java.util.concurrent.Semaphore;

/**
 * A reward computed by a user's web service (see docs/rewards-http.md): each batch is POSTed as JSON
 * {@code {"prompts": [...], "images": [base64 PNG, ...]}} and the service answers {@code {"scores": [...]}}, one
 * number (or null: NaN, not scorable) per image. Large batches go out as several requests, at most
 * {@code maxConcurrent} at a time per reward; failed connections, timeouts, 429 and 5xx answers are retried with
 * exponential backoff, other failures (4xx, malformed answers) raise at once. Errors name the URL and the status.
 */
public final class HttpReward implements Reward {
    private static final ObjectMapper JSON = new ObjectMapper();
    private static final int BODY_EXCERPT = 200;

    private final HttpRewardConfig config;
    private final HttpClient client;
    private final ExecutorService requests = Executors.newVirtualThreadPerTaskExecutor();
    private final Semaphore inFlight;

    public HttpReward(HttpRewardConfig config) {
        this.config = config;
        this.client = HttpClient.newBuilder().connectTimeout(config.connectTimeout())
                .version(HttpClient.Version.HTTP_1_1).build();
        this.inFlight = new Semaphore(config.maxConcurrent(), true);
    }

    public HttpRewardConfig config() {
        return config;
    }

    @Override
    public String name() {
        return "http";
    }

    @Override
    public float[] score(Tensor images, List<String> prompts) {
        int n = images.size(0);
        if (prompts.size() != n) {
            throw new IllegalArgumentException("http reward: " + n + " images but " + prompts.size() + " prompts");
        }
        List<Future<float[]>> parts = new ArrayList<>();
        for (int start = 0; start < n; start += config.maxBatch()) {
            int from = start, count = Math.min(config.maxBatch(), n - start);
            byte[] body = requestBody(images.narrow(0, from, count), prompts.subList(from, from + count));
            parts.add(requests.submit(() -> post(body, count)));
        }
        float[] out = new float[n];
        int at = 0;
        for (Future<float[]> part : parts) {
            float[] s = join(part);
            System.arraycopy(s, 0, out, at, s.length);
            at += s.length;
        }
        return out;
    }

    private static float[] join(Future<float[]> part) {
        try {
            return part.get();
        } catch (ExecutionException e) {
            if (e.getCause() instanceof RuntimeException r) {
                throw r;
            }
            throw new HttpRewardException(e.getCause().toString(), e.getCause());
        } catch (InterruptedException e) {
            Thread.currentThread().interrupt();
            throw new HttpRewardException("interrupted while waiting for the reward service", e);
        }
    }

    private static byte[] requestBody(Tensor images, List<String> prompts) {
        ObjectNode root = JSON.createObjectNode();
        ArrayNode p = root.putArray("prompts");
        prompts.forEach(p::add);
        ArrayNode img = root.putArray("images");
        Base64.Encoder b64 = Base64.getEncoder();
        for (int i = 0; i < images.size(0); i++) {
            img.add(b64.encodeToString(Images.png(images.select(0, i))));
        }
        try {
            return JSON.writeValueAsBytes(root);
        } catch (IOException e) {
            throw new IllegalStateException(e);
        }
    }

    /** Sends one request, retrying transient failures; returns its {@code count} scores. */
    private float[] post(byte[] body, int count) throws InterruptedException {
        HttpRequest request = HttpRequest.newBuilder(config.url()).timeout(config.requestTimeout())
                .header("Content-Type", "application/json").header("Accept", "application/json")
                .POST(HttpRequest.BodyPublishers.ofByteArray(body)).build();
        long wait = config.backoff().toMillis();
        String last = null;
        for (int attempt = 1; attempt <= config.maxAttempts(); attempt++) {
            if (attempt > 1) {
                Thread.sleep(wait);
                wait *= 2;
            }
            HttpResponse<String> response;
            inFlight.acquire();
            try {
                response = client.send(request, HttpResponse.BodyHandlers.ofString());
            } catch (HttpTimeoutException e) {
                last = "no answer within " + config.requestTimeout().toMillis() + " ms";
                continue;
            } catch (IOException e) {
                last = "connection failed: " + e;
                continue;
            } finally {
                inFlight.release();
            }
            int status = response.statusCode();
            if (status == 200) {
                return parse(response.body(), count);
            }
            last = "HTTP status " + status + ": " + excerpt(response.body());
            if (status != 429 && status < 500) {
                throw new HttpRewardException("reward service " + config.url() + " refused the request with " + last);
            }
        }
        throw new HttpRewardException("reward service " + config.url() + " failed " + config.maxAttempts()
                + " attempt(s); last: " + last);
    }

    private float[] parse(String body, int count) {
        JsonNode root;
        try {
            root = JSON.readTree(body);
        } catch (IOException e) {
            throw malformed("is not JSON", body);
        }
        JsonNode scores = root == null ? null : root.get("scores");
        if (scores == null || !scores.isArray()) {
            throw malformed("has no \"scores\" array", body);
        }
        if (scores.size() != count) {
            throw malformed("has " + scores.size() + " scores for " + count + " images", body);
        }
        float[] out = new float[count];
        for (int i = 0; i < count; i++) {
            JsonNode s = scores.get(i);
            if (s.isNull()) {
                out[i] = Float.NaN;
            } else if (s.isNumber()) {
                out[i] = s.floatValue();
            } else {
                throw malformed("has a non-numeric score " + s, body);
            }
        }
        return out;
    }

    private HttpRewardException malformed(String what, String body) {
        return new HttpRewardException("reward service " + config.url() + " answered with status 200 but the body "
                + what + ": " + excerpt(body));
    }

    private static String excerpt(String body) {
        String s = body.strip().replaceAll("\\s+", " ");
        return s.isEmpty() ? "(empty body)" : s.length() > BODY_EXCERPT ? s.substring(0, BODY_EXCERPT) + "..." : s;
    }

    @Override
    public void close() {
        requests.shutdownNow();
        client.close();
    }
}
