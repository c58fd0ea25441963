package io.texforce.tensor.cpu;

import java.util.concurrent.ForkJoinPool;
import java.util.concurrent.RecursiveAction;

/**
 * Data-parallel loops on a shared fork/join pool sized to the machine. Work below a grain size runs inline so
 * that small tensors do not pay for task creation.
 */
public final class Parallel {
    private static final ForkJoinPool POOL = createPool();

    private Parallel() {
    }

    private static ForkJoinPool createPool() {
        int threads = Integer.getInteger("texforce.threads", Runtime.getRuntime().availableProcessors());
        return new ForkJoinPool(Math.max(1, threads), pool -> {
            var t = ForkJoinPool.defaultForkJoinWorkerThreadFactory.newThread(pool);
            t.setName("texforce-cpu-" + t.getPoolIndex());
            t.setDaemon(true);
            return t;
        }, null, false);
    }

    /** Number of worker threads. */
    public static int threads() {
        return POOL.getParallelism();
    }

    /** A loop body over the half-open index range [from, to). */
    @FunctionalInterface
    public interface RangeBody {
        void run(int from, int to);
    }

    /**
     * Runs {@code body} over [0, n) split into chunks of at least {@code grain} indices, in parallel when there is
     * more than one chunk.
     */
    public static void forRange(int n, int grain, RangeBody body) {
        if (n <= 0) {
            return;
        }
        int g = Math.max(1, grain);
        if (n <= g || threads() == 1) {
            body.run(0, n);
            return;
        }
        int chunks = Math.min((n + g - 1) / g, threads() * 4);
        var task = new Chunked(body, n, chunks, 0, chunks);
        if (Thread.currentThread() instanceof java.util.concurrent.ForkJoinWorkerThread w && w.getPool() == POOL) {
            task.invoke();
        } else {
            POOL.invoke(task);
        }
    }

    private static final class Chunked extends RecursiveAction {
        private final RangeBody body;
        private final int n;
        private final int chunks;
        private final int lo;
        private final int hi;

        Chunked(RangeBody body, int n, int chunks, int lo, int hi) {
            this.body = body;
            this.n = n;
            this.chunks = chunks;
            this.lo = lo;
            this.hi = hi;
        }

        @Override
        protected void compute() {
            if (hi - lo == 1) {
                int from = (int) ((long) n * lo / chunks);
                int to = (int) ((long) n * (lo + 1) / chunks);
                body.run(from, to);
                return;
            }
            int mid = (lo + hi) >>> 1;
            invokeAll(new Chunked(body, n, chunks, lo, mid), new Chunked(body, n, chunks, mid, hi));
        }
    }
}
