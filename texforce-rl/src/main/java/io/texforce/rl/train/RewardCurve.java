package io.texforce.rl.train;

import io.texforce.tensor.io.Images;

import javax.imageio.ImageIO;
import java.awt.BasicStroke;
import java.awt.Color;
import java.awt.Font;
import java.awt.Graphics2D;
import java.awt.RenderingHints;
import java.awt.image.BufferedImage;
import java.io.ByteArrayOutputStream;
import java.io.IOException;
import java.io.UncheckedIOException;
import java.nio.file.Path;
import java.util.List;

/** A PNG plot of the mean reward per epoch with a +-1 std band (and the evaluation reward when present). */
public final class RewardCurve {
    private RewardCurve() {
    }

    public static void write(List<EpochMetrics> epochs, String rewardName, Path file) {
        int w = 720, h = 420, left = 70, right = 20, top = 40, bottom = 50;
        BufferedImage img = new BufferedImage(w, h, BufferedImage.TYPE_INT_RGB);
        Graphics2D g = img.createGraphics();
        g.setRenderingHint(RenderingHints.KEY_ANTIALIASING, RenderingHints.VALUE_ANTIALIAS_ON);
        g.setColor(Color.WHITE);
        g.fillRect(0, 0, w, h);
        double lo = Double.POSITIVE_INFINITY, hi = Double.NEGATIVE_INFINITY;
        for (EpochMetrics m : epochs) {
            lo = Math.min(lo, Math.min(m.rewardMean() - m.rewardStd(), finiteOr(m.evalRewardMean(), m.rewardMean())));
            hi = Math.max(hi, Math.max(m.rewardMean() + m.rewardStd(), finiteOr(m.evalRewardMean(), m.rewardMean())));
        }
        if (epochs.isEmpty() || !(hi > lo)) {
            lo = -1;
            hi = 1;
        }
        double pad = (hi - lo) * 0.05;
        lo -= pad;
        hi += pad;
        int n = Math.max(2, epochs.size());
        double yLo = lo, yHi = hi;
        java.util.function.IntUnaryOperator px = i -> left + (int) Math.round((w - left - right) * (double) i / (n - 1));
        java.util.function.DoubleToIntFunction py = v -> top + (int) Math.round((h - top - bottom) * (yHi - v) / (yHi - yLo));
        g.setColor(Color.GRAY);
        g.drawRect(left, top, w - left - right, h - top - bottom);
        g.setFont(new Font(Font.SANS_SERIF, Font.PLAIN, 12));
        // Enough decimals to tell the tick labels apart, however narrow the range.
        int decimals = (int) Math.max(0, Math.min(8, 2 - Math.floor(Math.log10(hi - lo))));
        for (int k = 0; k <= 4; k++) {
            double v = lo + (hi - lo) * k / 4;
            g.drawString(String.format("%." + decimals + "f", v), 5, py.applyAsInt(v) + 4);
        }
        g.drawString("epoch", w / 2 - 15, h - 15);
        g.setColor(Color.BLACK);
        g.drawString("TexForce: " + rewardName + " per epoch (band: +-1 std of samples; dashed: fixed-seed evaluation)",
                left, 25);
        if (!epochs.isEmpty()) {
            g.drawString("1", px.applyAsInt(0) - 3, h - bottom + 15);
            g.drawString(Integer.toString(epochs.get(epochs.size() - 1).epoch()), px.applyAsInt(epochs.size() - 1) - 6,
                    h - bottom + 15);
        }
        g.setColor(new Color(70, 130, 220, 60));
        for (int i = 0; i + 1 < epochs.size(); i++) {
            EpochMetrics a = epochs.get(i), b = epochs.get(i + 1);
            int[] xs = {px.applyAsInt(i), px.applyAsInt(i + 1), px.applyAsInt(i + 1), px.applyAsInt(i)};
            int[] ys = {py.applyAsInt(a.rewardMean() + a.rewardStd()), py.applyAsInt(b.rewardMean() + b.rewardStd()),
                    py.applyAsInt(b.rewardMean() - b.rewardStd()), py.applyAsInt(a.rewardMean() - a.rewardStd())};
            g.fillPolygon(xs, ys, 4);
        }
        g.setStroke(new BasicStroke(2f));
        g.setColor(new Color(30, 90, 200));
        for (int i = 0; i + 1 < epochs.size(); i++) {
            g.drawLine(px.applyAsInt(i), py.applyAsInt(epochs.get(i).rewardMean()), px.applyAsInt(i + 1),
                    py.applyAsInt(epochs.get(i + 1).rewardMean()));
        }
        g.setColor(new Color(220, 90, 30));
        g.setStroke(new BasicStroke(2f, BasicStroke.CAP_BUTT, BasicStroke.JOIN_MITER, 10f, new float[]{6f, 4f}, 0f));
        for (int i = 0; i + 1 < epochs.size(); i++) {
            float a = epochs.get(i).evalRewardMean(), b = epochs.get(i + 1).evalRewardMean();
            if (Float.isFinite(a) && Float.isFinite(b)) {
                g.drawLine(px.applyAsInt(i), py.applyAsInt(a), px.applyAsInt(i + 1), py.applyAsInt(b));
            }
        }
        g.dispose();
        ByteArrayOutputStream bytes = new ByteArrayOutputStream();
        try {
            ImageIO.write(img, "png", bytes);
        } catch (IOException e) {
            throw new UncheckedIOException(e);
        }
        Images.writeAtomically(bytes.toByteArray(), file);
    }

    private static double finiteOr(float v, float fallback) {
        return Float.isFinite(v) ? v : fallback;
    }
}
