package dev.hesstrain.runs;

import java.awt.BasicStroke;
import java.awt.Color;
import java.awt.Font;
import java.awt.FontMetrics;
import java.awt.Graphics2D;
import java.awt.RenderingHints;
import java.awt.image.BufferedImage;
import java.io.IOException;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Locale;
import java.util.Map;
import javax.imageio.ImageIO;
import org.knowm.xchart.BitmapEncoder;
import org.knowm.xchart.BitmapEncoder.BitmapFormat;
import org.knowm.xchart.CategoryChart;
import org.knowm.xchart.CategoryChartBuilder;
import org.knowm.xchart.XYChart;
import org.knowm.xchart.XYChartBuilder;
import org.knowm.xchart.XYSeries.XYSeriesRenderStyle;
import org.knowm.xchart.internal.chartpart.Chart;
import org.knowm.xchart.style.Styler.LegendPosition;
import org.knowm.xchart.style.markers.SeriesMarkers;

/**
 * PNG plots for run directories: line charts and eigenvalue plots via XChart, and matrix heatmaps drawn
 * directly with Java2D. Everything runs headless and every file is written atomically.
 */
public final class Plots {
    static {
        // ImageIO otherwise buffers every PNG in a file cache whose closing thread ("StreamCloser") dies
        // with an uncaught NullPointerException once a write failed, e.g. on a full disk (issue 10, 6)
        ImageIO.setUseCache(false);
    }

    /** Size of XChart-based plots. */
    public static final int WIDTH = 800;
    public static final int HEIGHT = 500;
    /** Eigenvalue plots with at most this many values are drawn as bars, larger ones as points. */
    static final int MAX_BARS = 60;

    private Plots() {}

    private static void headless() {
        System.setProperty("java.awt.headless", "true");
    }

    // ------------------------------------------------------------------------------------------- line charts

    /**
     * A line chart of several series sharing one x axis (800x500, no markers). Non-finite points are dropped;
     * with {@code logY}, so are points that are not strictly positive, series left empty are skipped, and a
     * chart with no series left is still written, with "(no positive values)" added to its title.
     */
    public static void lineChart(Path png, String title, String xLabel, String yLabel, boolean logY, double[] x,
            LinkedHashMap<String, double[]> series) throws IOException {
        headless();
        Map<String, double[][]> kept = new LinkedHashMap<>();
        for (Map.Entry<String, double[]> e : series.entrySet()) {
            double[] y = e.getValue();
            if (y.length != x.length) {
                throw new IllegalArgumentException("series '" + e.getKey() + "' has " + y.length
                        + " values but x has " + x.length);
            }
            double[][] xy = filter(x, y, logY);
            if (xy[0].length > 0) {
                kept.put(e.getKey(), xy);
            }
        }
        String fullTitle = title;
        if (kept.isEmpty()) {
            fullTitle = title + (logY ? " (no positive values)" : " (no finite values)");
        }
        XYChart chart = new XYChartBuilder().width(WIDTH).height(HEIGHT)
                .title(fullTitle).xAxisTitle(xLabel).yAxisTitle(yLabel).build();
        chart.getStyler().setDefaultSeriesRenderStyle(XYSeriesRenderStyle.Line);
        chart.getStyler().setMarkerSize(0);
        chart.getStyler().setLegendPosition(LegendPosition.InsideNE);
        chart.getStyler().setChartBackgroundColor(Color.WHITE);
        if (kept.isEmpty()) {
            chart.getStyler().setLegendVisible(false);
        } else {
            chart.getStyler().setYAxisLogarithmic(logY);
            for (Map.Entry<String, double[][]> e : kept.entrySet()) {
                chart.addSeries(e.getKey(), e.getValue()[0], e.getValue()[1]).setMarker(SeriesMarkers.NONE);
            }
        }
        save(chart, png);
    }

    /** Keeps the points with finite x and y (and y &gt; 0 when {@code positiveOnly}). */
    private static double[][] filter(double[] x, double[] y, boolean positiveOnly) {
        int n = 0;
        double[] fx = new double[x.length];
        double[] fy = new double[y.length];
        for (int i = 0; i < x.length; i++) {
            if (Double.isFinite(x[i]) && Double.isFinite(y[i]) && (!positiveOnly || y[i] > 0)) {
                fx[n] = x[i];
                fy[n] = y[i];
                n++;
            }
        }
        return new double[][] {Arrays.copyOf(fx, n), Arrays.copyOf(fy, n)};
    }

    // ------------------------------------------------------------------------------------------- bars

    /**
     * Values against their index (e.g. sorted eigenvalues), 800x500: a bar chart for up to {@value #MAX_BARS}
     * values, a scatter plot beyond. Non-finite values are left out.
     */
    public static void bars(Path png, String title, String xLabel, String yLabel, double[] values) throws IOException {
        headless();
        List<Integer> idx = new ArrayList<>();
        List<Double> vals = new ArrayList<>();
        for (int i = 0; i < values.length; i++) {
            if (Double.isFinite(values[i])) {
                idx.add(i);
                vals.add(values[i]);
            }
        }
        if (!idx.isEmpty() && idx.size() <= MAX_BARS) {
            CategoryChart chart = new CategoryChartBuilder().width(WIDTH).height(HEIGHT)
                    .title(title).xAxisTitle(xLabel).yAxisTitle(yLabel).build();
            chart.getStyler().setLegendVisible(false);
            chart.getStyler().setChartBackgroundColor(Color.WHITE);
            chart.getStyler().setXAxisLabelRotation(idx.size() > 30 ? 90 : 0);
            chart.addSeries("values", idx, vals);
            save(chart, png);
            return;
        }
        XYChart chart = new XYChartBuilder().width(WIDTH).height(HEIGHT)
                .title(idx.isEmpty() ? title + " (no finite values)" : title)
                .xAxisTitle(xLabel).yAxisTitle(yLabel).build();
        chart.getStyler().setLegendVisible(false);
        chart.getStyler().setChartBackgroundColor(Color.WHITE);
        chart.getStyler().setDefaultSeriesRenderStyle(XYSeriesRenderStyle.Scatter);
        chart.getStyler().setMarkerSize(4);
        if (!idx.isEmpty()) {
            chart.addSeries("values", idx, vals).setMarker(SeriesMarkers.CIRCLE);
        }
        save(chart, png);
    }

    private static void save(Chart<?, ?> chart, Path png) throws IOException {
        AtomicFiles.write(png, out -> BitmapEncoder.saveBitmap(chart, out, BitmapFormat.PNG));
    }

    // ------------------------------------------------------------------------------------------- heatmap

    /** Pixel geometry of a heatmap image; package-private so tests can find cells. */
    record HeatmapLayout(int rows, int cols, int pool, int cell, int plotX, int plotY, int plotW, int plotH,
            int width, int height) {

        static final int MAX_PLOT = 1000;
        static final int TARGET_PLOT = 800;
        static final int TITLE_H = 40;
        static final int MARGIN = 20;
        static final int BAR_GAP = 20;
        static final int BAR_W = 20;
        static final int BAR_LABELS_W = 90;
        static final int MIN_WIDTH = 400;

        static HeatmapLayout of(int rows, int cols) {
            int longest = Math.max(1, Math.max(rows, cols));
            int pool = longest > MAX_PLOT ? (longest + MAX_PLOT - 1) / MAX_PLOT : 1;
            int cell = longest >= TARGET_PLOT ? 1 : Math.max(1, TARGET_PLOT / longest);
            int pRows = (rows + pool - 1) / pool;
            int pCols = (cols + pool - 1) / pool;
            int plotW = Math.max(1, pCols * cell);
            int plotH = Math.max(1, pRows * cell);
            int width = Math.max(MIN_WIDTH, MARGIN + plotW + BAR_GAP + BAR_W + BAR_LABELS_W);
            int height = TITLE_H + Math.max(plotH, 100) + MARGIN;
            return new HeatmapLayout(pRows, pCols, pool, cell, MARGIN, TITLE_H, plotW, plotH, width, height);
        }
    }

    /**
     * A heatmap of {@code matrix} with a diverging blue-white-red colour map symmetric around 0 and scaled
     * by the largest |value|. The plot area is at most 1000x1000 pixels: small matrices are enlarged
     * (square cells), larger ones are downsampled by keeping the value of largest magnitude in each block.
     * {@code boundaries} are row/column indices where a block starts; thin black lines mark them. NaN cells
     * are grey. A colour bar and the title are drawn alongside.
     */
    public static void heatmap(Path png, String title, double[][] matrix, int[] boundaries) throws IOException {
        headless();
        int rows = matrix.length;
        int cols = rows == 0 ? 0 : matrix[0].length;
        for (double[] row : matrix) {
            if (row.length != cols) {
                throw new IllegalArgumentException("heatmap matrix is ragged");
            }
        }
        HeatmapLayout L = HeatmapLayout.of(rows, cols);
        double[][] pooled = pool(matrix, L);
        double maxAbs = 0;
        for (double[] row : pooled) {
            for (double v : row) {
                if (Double.isFinite(v)) maxAbs = Math.max(maxAbs, Math.abs(v));
            }
        }

        BufferedImage img = new BufferedImage(L.width(), L.height(), BufferedImage.TYPE_INT_RGB);
        Graphics2D g = img.createGraphics();
        try {
            g.setColor(Color.WHITE);
            g.fillRect(0, 0, L.width(), L.height());
            for (int r = 0; r < L.rows(); r++) {
                for (int c = 0; c < L.cols(); c++) {
                    g.setColor(colour(pooled[r][c], maxAbs));
                    g.fillRect(L.plotX() + c * L.cell(), L.plotY() + r * L.cell(), L.cell(), L.cell());
                }
            }
            // block boundaries
            g.setColor(Color.BLACK);
            g.setStroke(new BasicStroke(1f));
            for (int b : boundaries == null ? new int[0] : boundaries) {
                if (b > 0 && b < cols) {
                    int px = L.plotX() + (int) Math.round((double) b / L.pool() * L.cell());
                    g.drawLine(px, L.plotY(), px, L.plotY() + L.plotH() - 1);
                }
                if (b > 0 && b < rows) {
                    int py = L.plotY() + (int) Math.round((double) b / L.pool() * L.cell());
                    g.drawLine(L.plotX(), py, L.plotX() + L.plotW() - 1, py);
                }
            }
            g.setColor(Color.GRAY);
            g.drawRect(L.plotX() - 1, L.plotY() - 1, L.plotW() + 1, L.plotH() + 1);

            // colour bar: +max at the top, -max at the bottom
            g.setRenderingHint(RenderingHints.KEY_TEXT_ANTIALIASING, RenderingHints.VALUE_TEXT_ANTIALIAS_ON);
            int barX = L.plotX() + L.plotW() + HeatmapLayout.BAR_GAP;
            int barH = Math.max(L.plotH(), 100);
            for (int y = 0; y < barH; y++) {
                double t = 1 - 2.0 * y / Math.max(1, barH - 1);
                g.setColor(colour(t, 1));
                g.drawLine(barX, L.plotY() + y, barX + HeatmapLayout.BAR_W - 1, L.plotY() + y);
            }
            g.setColor(Color.GRAY);
            g.drawRect(barX - 1, L.plotY() - 1, HeatmapLayout.BAR_W + 1, barH + 1);
            g.setColor(Color.BLACK);
            g.setFont(new Font(Font.SANS_SERIF, Font.PLAIN, 12));
            FontMetrics fm = g.getFontMetrics();
            int lx = barX + HeatmapLayout.BAR_W + 4;
            g.drawString(label(maxAbs), lx, L.plotY() + fm.getAscent());
            g.drawString("0", lx, L.plotY() + barH / 2 + fm.getAscent() / 2);
            g.drawString(label(-maxAbs), lx, L.plotY() + barH);

            // title
            g.setFont(new Font(Font.SANS_SERIF, Font.BOLD, 16));
            fm = g.getFontMetrics();
            String text = title + "  (" + rows + "x" + cols + (L.pool() > 1 ? ", max-|v| pooled " + L.pool() + "x" : "")
                    + ")";
            int tx = Math.max(4, (L.width() - fm.stringWidth(text)) / 2);
            g.drawString(text, tx, (HeatmapLayout.TITLE_H + fm.getAscent()) / 2);
        } finally {
            g.dispose();
        }
        AtomicFiles.write(png, out -> {
            if (!ImageIO.write(img, "png", out)) {
                throw new IOException("no PNG writer available");
            }
        });
    }

    /** Max-|value| pooling of {@code pool x pool} blocks (identity when pool is 1); NaN only if all are NaN. */
    private static double[][] pool(double[][] m, HeatmapLayout L) {
        if (L.pool() == 1) {
            return m;
        }
        int p = L.pool();
        double[][] out = new double[L.rows()][L.cols()];
        for (double[] row : out) Arrays.fill(row, Double.NaN);
        for (int r = 0; r < m.length; r++) {
            double[] src = m[r];
            double[] dst = out[r / p];
            for (int c = 0; c < src.length; c++) {
                double v = src[c];
                double cur = dst[c / p];
                if (!Double.isNaN(v) && (Double.isNaN(cur) || Math.abs(v) > Math.abs(cur))) {
                    dst[c / p] = v;
                }
            }
        }
        return out;
    }

    private static final Color NEG = new Color(33, 102, 172);
    private static final Color POS = new Color(178, 24, 43);
    private static final Color NAN = new Color(160, 160, 160);

    /** Diverging colour: blue for -scale, white for 0, red for +scale; grey for NaN. */
    static Color colour(double v, double scale) {
        if (Double.isNaN(v)) return NAN;
        if (scale <= 0) return Color.WHITE;
        double t = Math.max(-1, Math.min(1, v / scale));
        Color end = t >= 0 ? POS : NEG;
        double a = Math.abs(t);
        return new Color(mix(end.getRed(), a), mix(end.getGreen(), a), mix(end.getBlue(), a));
    }

    private static int mix(int channel, double a) {
        return (int) Math.round(255 + (channel - 255) * a);
    }

    private static String label(double v) {
        return String.format(Locale.ROOT, "%.3g", v);
    }
}
