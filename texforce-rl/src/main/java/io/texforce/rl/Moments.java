package io.texforce.rl;

/** Mean and population standard deviation (numpy's {@code np.mean}, {@code np.std} with ddof 0), in double. */
record Moments(double mean, double std) {

    static Moments of(float[] values, int from, int to) {
        int n = to - from;
        double sum = 0;
        for (int i = from; i < to; i++) {
            sum += values[i];
        }
        double mean = sum / n;
        double squares = 0;
        for (int i = from; i < to; i++) {
            double d = values[i] - mean;
            squares += d * d;
        }
        return new Moments(mean, Math.sqrt(squares / n));
    }
}
