package io.texforce.rewards.http;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import com.sun.net.httpserver.HttpExchange;
import com.sun.net.httpserver.HttpServer;
import io.texforce.tensor.Tensor;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;

import javax.imageio.ImageIO;
import java.awt.image.BufferedImage;
import java.io.ByteArrayInputStream;
import java.io.IOException;
import java.net.InetAddress;
import java.net.InetSocketAddress;
import java.net.URI;
import java.nio.charset.StandardCharsets;
import java.time.Duration;
import java.util.Base64;
import java.util.List;
import java.util.concurrent.ExecutorService;
import java.util.concurrent.Executors;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.AtomicInteger;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

/** The HTTP reward against a real server on loopback, healthy and faulty. */
class HttpRewardTest {
    private static final ObjectMapper JSON = new ObjectMapper();

    private HttpServer server;
    private ExecutorService serverThreads;
    private final AtomicInteger requests = new AtomicInteger();

    @BeforeEach
    void start() throws IOException {
        server = HttpServer.create(new InetSocketAddress(InetAddress.getLoopbackAddress(), 0), 0);
        serverThreads = Executors.newFixedThreadPool(8);
        server.setExecutor(serverThreads);
        server.start();
    }

    @AfterEach
    void stop() throws InterruptedException {
        server.stop(0);
        serverThreads.shutdownNow();
        serverThreads.awaitTermination(5, TimeUnit.SECONDS);
    }

    /** Serves {@code path}; the handler sees the request number (1-based) for this path. */
    private URI serve(String path, Handler handler) {
        AtomicInteger calls = new AtomicInteger();
        server.createContext(path, exchange -> {
            requests.incrementAndGet();
            try (exchange) {
                handler.handle(exchange, calls.incrementAndGet());
            } catch (InterruptedException e) {
                Thread.currentThread().interrupt();
            }
        });
        return URI.create("http://127.0.0.1:" + server.getAddress().getPort() + path);
    }

    interface Handler {
        void handle(HttpExchange exchange, int call) throws IOException, InterruptedException;
    }

    private static void reply(HttpExchange ex, int status, String body) throws IOException {
        byte[] b = body.getBytes(StandardCharsets.UTF_8);
        ex.getResponseHeaders().set("Content-Type", "application/json");
        ex.sendResponseHeaders(status, b.length);
        ex.getResponseBody().write(b);
    }

    /** The protocol's reference behaviour: score = mean red value of the PNG + 10 * prompt length. */
    private static final Handler SCORER = (ex, call) -> {
        JsonNode req = JSON.readTree(ex.getRequestBody());
        StringBuilder scores = new StringBuilder("{\"scores\": [");
        for (int i = 0; i < req.get("images").size(); i++) {
            byte[] png = Base64.getDecoder().decode(req.get("images").get(i).asText());
            BufferedImage img = ImageIO.read(new ByteArrayInputStream(png));
            double red = 0;
            for (int y = 0; y < img.getHeight(); y++) {
                for (int x = 0; x < img.getWidth(); x++) {
                    red += (img.getRGB(x, y) >> 16) & 255;
                }
            }
            red /= img.getWidth() * img.getHeight() * 255.0;
            scores.append(i == 0 ? "" : ", ").append(red + 10 * req.get("prompts").get(i).asText().length());
        }
        reply(ex, 200, scores.append("]}").toString());
    };

    private static HttpRewardConfig fast(URI url) {
        return HttpRewardConfig.of(url).withTimeouts(Duration.ofSeconds(2), Duration.ofMillis(300))
                .withRetries(3, Duration.ofMillis(10));
    }

    private static Tensor images(float... reds) {
        float[] d = new float[reds.length * 3 * 4 * 4];
        for (int i = 0; i < reds.length; i++) {
            java.util.Arrays.fill(d, i * 48, i * 48 + 16, reds[i]);
        }
        return Tensor.of(d, reds.length, 3, 4, 4);
    }

    @Test
    void scoresBatchesThroughTheService() {
        try (HttpReward r = new HttpReward(fast(serve("/score", SCORER)))) {
            float[] s = r.score(images(0.2f, 1f), List.of("ab", "abcd"));
            assertEquals(20 + 51 / 255.0, s[0], 1e-4);
            assertEquals(41, s[1], 1e-4);
            assertEquals(1, requests.get());
        }
    }

    @Test
    void slowAnswerTimesOutAndTheRetrySucceeds() {
        URI url = serve("/slow-once", (ex, call) -> {
            if (call == 1) {
                Thread.sleep(1500);
            }
            SCORER.handle(ex, call);
        });
        try (HttpReward r = new HttpReward(fast(url))) {
            long t0 = System.nanoTime();
            float[] s = r.score(images(1f), List.of("a"));
            assertEquals(11, s[0], 1e-4);
            assertTrue(System.nanoTime() - t0 < 1_400_000_000L, "the client gave up on the slow answer early");
        }
    }

    @Test
    void alwaysSlowServiceFailsNamingTheUrl() {
        URI url = serve("/slow", (ex, call) -> Thread.sleep(600));
        try (HttpReward r = new HttpReward(fast(url).withRetries(2, Duration.ofMillis(10)))) {
            HttpRewardException e = assertThrows(HttpRewardException.class, () -> r.score(images(1f), List.of("a")));
            assertTrue(e.getMessage().contains(url.toString()), e.getMessage());
            assertTrue(e.getMessage().contains("no answer within 300 ms"), e.getMessage());
            assertTrue(e.getMessage().contains("2 attempt"), e.getMessage());
        }
    }

    @Test
    void serverErrorIsRetriedThenReportedWithItsStatus() {
        URI flaky = serve("/flaky", (ex, call) -> {
            if (call < 3) {
                reply(ex, 500, "overloaded");
            } else {
                SCORER.handle(ex, call);
            }
        });
        try (HttpReward r = new HttpReward(fast(flaky))) {
            assertEquals(11, r.score(images(1f), List.of("a"))[0], 1e-4);
        }
        URI broken = serve("/broken", (ex, call) -> reply(ex, 500, "Traceback: CUDA out of memory"));
        requests.set(0);
        try (HttpReward r = new HttpReward(fast(broken))) {
            HttpRewardException e = assertThrows(HttpRewardException.class, () -> r.score(images(1f), List.of("a")));
            assertTrue(e.getMessage().contains(broken.toString()), e.getMessage());
            assertTrue(e.getMessage().contains("status 500"), e.getMessage());
            assertTrue(e.getMessage().contains("CUDA out of memory"), e.getMessage());
            assertEquals(3, requests.get(), "bounded retries");
        }
    }

    @Test
    void clientErrorsAndGarbageAreNotRetried() {
        URI notFound = serve("/missing", (ex, call) -> reply(ex, 404, "no such route"));
        URI garbage = serve("/garbage", (ex, call) -> reply(ex, 200, "<html>proxy error</html>"));
        URI short1 = serve("/short", (ex, call) -> reply(ex, 200, "{\"scores\": [1.0]}"));
        try (HttpReward a = new HttpReward(fast(notFound)); HttpReward b = new HttpReward(fast(garbage));
             HttpReward c = new HttpReward(fast(short1))) {
            HttpRewardException e404 = assertThrows(HttpRewardException.class, () -> a.score(images(1f), List.of("a")));
            assertTrue(e404.getMessage().contains("status 404") && e404.getMessage().contains(notFound.toString()),
                    e404.getMessage());
            HttpRewardException eJson = assertThrows(HttpRewardException.class, () -> b.score(images(1f), List.of("a")));
            assertTrue(eJson.getMessage().contains("is not JSON") && eJson.getMessage().contains("proxy error")
                    && eJson.getMessage().contains(garbage.toString()), eJson.getMessage());
            HttpRewardException eCount = assertThrows(HttpRewardException.class,
                    () -> c.score(images(1f, 0f), List.of("a", "b")));
            assertTrue(eCount.getMessage().contains("1 scores for 2 images"), eCount.getMessage());
            assertEquals(3, requests.get(), "one request each");
        }
    }

    @Test
    void nullScoreMeansNotScorable() {
        URI url = serve("/partial", (ex, call) -> reply(ex, 200, "{\"scores\": [0.5, null]}"));
        try (HttpReward r = new HttpReward(fast(url))) {
            float[] s = r.score(images(1f, 0f), List.of("a", "b"));
            assertEquals(0.5f, s[0]);
            assertTrue(Float.isNaN(s[1]));
        }
    }

    @Test
    void splitsBatchesAndLimitsConcurrency() {
        // Counted inside the handler and ended before the answer is written: counting until the exchange closes
        // would overlap the client's next request, sent as soon as it has the answer.
        AtomicInteger busy = new AtomicInteger();
        AtomicInteger maxBusy = new AtomicInteger();
        URI url = serve("/busy", (ex, call) -> {
            maxBusy.accumulateAndGet(busy.incrementAndGet(), Math::max);
            Thread.sleep(80);
            busy.decrementAndGet();
            SCORER.handle(ex, call);
        });
        try (HttpReward r = new HttpReward(fast(url).withConcurrency(2, 1))) {
            float[] reds = {0f, 0.2f, 0.4f, 0.6f, 0.8f, 1f};
            float[] s = r.score(images(reds), List.of("", "", "", "", "", ""));
            for (int i = 0; i < reds.length; i++) {
                assertEquals(Math.round(reds[i] * 255) / 255.0, s[i], 1e-4, "image " + i + " keeps its place");
            }
            assertEquals(6, requests.get());
            assertTrue(maxBusy.get() <= 2, "at most 2 requests in flight, saw " + maxBusy.get());
        }
    }

    @Test
    void refusedConnectionIsReportedAfterRetries() throws IOException {
        int port;
        try (var s = new java.net.ServerSocket(0, 1, InetAddress.getLoopbackAddress())) {
            port = s.getLocalPort();
        }
        URI url = URI.create("http://127.0.0.1:" + port + "/score");
        try (HttpReward r = new HttpReward(fast(url))) {
            HttpRewardException e = assertThrows(HttpRewardException.class, () -> r.score(images(1f), List.of("a")));
            assertTrue(e.getMessage().contains(url.toString()) && e.getMessage().contains("connection failed"),
                    e.getMessage());
        }
    }

    @Test
    void configRejectsNonHttpUrls() {
        assertThrows(IllegalArgumentException.class, () -> HttpRewardConfig.of(URI.create("file:///etc/passwd")));
        assertArrayEquals(new int[]{3, 4, 16}, new int[]{HttpRewardConfig.of(URI.create("http://x")).maxAttempts(),
                HttpRewardConfig.of(URI.create("http://x")).maxConcurrent(),
                HttpRewardConfig.of(URI.create("http://x")).maxBatch()});
    }
}
