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
import org.knowm.xchart.AnnotationText;
import org.knowm.xchart.BitmapEncoder;
import org.knowm.xchart.BitmapEncoder.BitmapFormat;
import org.knowm.xchart.CategoryChart;
import org.knowm.xchart.CategoryChartBuilder;
import org.knowm.xchart.XYChart;
import org.knowm.xchart.XYChartBuilder;
import org.knowm.xchart.XYSeries;
import org.knowm.xchart.XYSeries.XYSeriesRenderStyle;
import org.knowm.xchart.internal.chartpart.Chart;
import org.knowm.xchart.style.Styler.LegendLayout;
import org.knowm.xchart.style.Styler.LegendPosition;
import org.knowm.xchart.style.XYStyler;
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

    /** Points per series beyond which a curve is downsampled (min and max of each bucket). */
    static final int MAX_POINTS = 2000;
    /** Decades a log axis labels one by one; wider ranges are labelled every few decades. */
    static final int MAX_DECADES = 10;

    /**
     * A line chart of several series sharing one x axis (800x500, no markers), with the legend below
     * the plot, never over the data. Non-finite points are dropped; with {@code logY}, so are points
     * that are not strictly positive. Series left empty are skipped; a chart with none left is still
     * written, with "(no data)" in its title and a note in place of the axes. Curves longer than
     * {@value #MAX_POINTS} points are downsampled to the minimum and maximum of each bucket, so that
     * a long run plots in well under a second and keeps its spikes.
     */
    public static void lineChart(Path png, String title, String xLabel, String yLabel, boolean logY, double[] x,
            LinkedHashMap<String, double[]> series) throws IOException {
        headless();
        save(lineChartOf(title, xLabel, yLabel, logY, x, series), png);
    }

    /** The chart {@link #lineChart} draws, for tests to look into. */
    static XYChart lineChartOf(String title, String xLabel, String yLabel, boolean logY, double[] x,
            LinkedHashMap<String, double[]> series) {
        Map<String, double[][]> kept = new LinkedHashMap<>();
        for (Map.Entry<String, double[]> e : series.entrySet()) {
            double[] y = e.getValue();
            if (y.length != x.length) {
                throw new IllegalArgumentException("series '" + e.getKey() + "' has " + y.length
                        + " values but x has " + x.length);
            }
            double[][] xy = filter(x, y, logY);
            if (xy[0].length > 0) {
                kept.put(e.getKey(), downsample(xy[0], xy[1], MAX_POINTS));
            }
        }
        XYChart chart = new XYChartBuilder().width(WIDTH).height(HEIGHT)
                .title(kept.isEmpty() ? title + " (no data)" : title).xAxisTitle(xLabel).yAxisTitle(yLabel).build();
        XYStyler st = chart.getStyler();
        st.setDefaultSeriesRenderStyle(XYSeriesRenderStyle.Line);
        st.setMarkerSize(0);
        st.setChartBackgroundColor(Color.WHITE);
        st.setLegendPosition(LegendPosition.OutsideS);
        st.setLegendLayout(LegendLayout.Horizontal);
        st.setLegendBorderColor(Color.WHITE);
        if (kept.isEmpty()) {
            st.setLegendVisible(false);
            st.setAxisTicksVisible(false);
            st.setPlotGridLinesVisible(false);
            st.setXAxisMin(0.0).setXAxisMax(1.0).setYAxisMin(0.0).setYAxisMax(1.0);
            chart.addAnnotation(new AnnotationText((logY ? "no positive finite values" : "no finite values")
                    + " to plot", WIDTH / 2.0, HEIGHT / 2.0, true));
            return chart;
        }
        double[] xr = range(kept.values(), 0);
        Ticks xt = Ticks.linear(xr[0], xr[1]);
        if (integers(kept.values()) && xt.step() < 1) {
            // epochs: no fractional ticks (1.0, 1.2, ... for a three-epoch run)
            xt = new Ticks(Math.floor(xr[0]), Math.ceil(xr[1]), 1, "0", false);
        }
        st.setXAxisMin(xt.min()).setXAxisMax(xt.max());
        st.setXAxisDecimalPattern(xt.pattern());
        double[] anchor = spacingBreaker(kept.values());
        double[] yr = range(kept.values(), 1);
        Ticks yt = logY ? Ticks.log(yr[0], yr[1]) : Ticks.linear(yr[0], yr[1]);
        if (yt.log10()) {
            // too many decades for one label each: log10(y) on a linear axis, labelled 1e-30, 1e-25, ...
            st.setYAxisMin(yt.min()).setYAxisMax(yt.max());
            st.setyAxisTickLabelsFormattingFunction(v -> Math.abs(v - Math.rint(v)) < 1e-9
                    ? "1e" + (long) Math.rint(v) : "");
            for (Map.Entry<String, double[][]> e : kept.entrySet()) {
                double[] ly = Arrays.stream(e.getValue()[1]).map(Math::log10).toArray();
                chart.addSeries(e.getKey(), e.getValue()[0], ly).setMarker(SeriesMarkers.NONE);
            }
            addAnchor(chart, anchor, true);
            return chart;
        }
        st.setYAxisLogarithmic(logY);
        st.setYAxisMin(yt.min()).setYAxisMax(yt.max());
        if (!logY) {
            st.setYAxisDecimalPattern(yt.pattern());
        }
        for (Map.Entry<String, double[][]> e : kept.entrySet()) {
            chart.addSeries(e.getKey(), e.getValue()[0], e.getValue()[1]).setMarker(SeriesMarkers.NONE);
        }
        addAnchor(chart, anchor, false);
        return chart;
    }

    /**
     * XChart puts the x ticks on data values when all x values are equally spaced (epochs 1, 9, 17,
     * ... 193), not on round numbers. One invisible point half a step off the grid, at an existing
     * y, makes it choose a round step instead. Null when the x values are not equally spaced.
     */
    private static double[] spacingBreaker(java.util.Collection<double[][]> series) {
        java.util.TreeSet<Double> xs = new java.util.TreeSet<>();
        double y = Double.NaN;
        for (double[][] s : series) {
            for (double v : s[0]) {
                xs.add(v);
            }
            y = s[1][0];
        }
        if (xs.size() < 2) {
            return null;
        }
        Double[] v = xs.toArray(new Double[0]);
        double space = v[1] - v[0];
        for (int i = 2; i < v.length; i++) {
            if (Math.abs(v[i] - v[i - 1] - space) >= 1e-4) {
                return null;
            }
        }
        return new double[] {v[0] + space / 2, y};
    }

    private static void addAnchor(XYChart chart, double[] anchor, boolean log10) {
        if (anchor == null) {
            return;
        }
        XYSeries s = chart.addSeries(" ", new double[] {anchor[0]}, new double[] {log10 ? Math.log10(anchor[1]) : anchor[1]});
        s.setMarker(SeriesMarkers.NONE);
        s.setLineColor(new Color(0, 0, 0, 0));
        s.setShowInLegend(false);
    }

    /** Whether every x value is a whole number. */
    private static boolean integers(java.util.Collection<double[][]> series) {
        for (double[][] s : series) {
            for (double v : s[0]) {
                if (v != Math.rint(v)) {
                    return false;
                }
            }
        }
        return true;
    }

    /** [min, max] over every series of coordinate {@code axis} (0: x, 1: y). */
    private static double[] range(java.util.Collection<double[][]> series, int axis) {
        double lo = Double.POSITIVE_INFINITY;
        double hi = Double.NEGATIVE_INFINITY;
        for (double[][] s : series) {
            for (double v : s[axis]) {
                lo = Math.min(lo, v);
                hi = Math.max(hi, v);
            }
        }
        return new double[] {lo, hi};
    }

    /**
     * An axis: its range and label format. Linear axes run between multiples of a round step (1, 2
     * or 5 times a power of ten, about eight of them), so ticks fall on round numbers (0, 50, 100),
     * labelled with just the digits the step needs. Log axes span whole decades (at least two labels);
     * beyond {@value #MAX_DECADES} decades, {@code log10} says to plot log10(y) on a linear axis with
     * a round step of decades.
     */
    record Ticks(double min, double max, double step, String pattern, boolean log10) {
        static Ticks linear(double lo, double hi) {
            if (!(hi > lo)) {
                double pad = lo == 0 ? 1 : Math.abs(lo) * 0.1;
                lo -= pad;
                hi += pad;
            }
            double step = niceStep((hi - lo) / 8);
            double min = Math.floor(lo / step) * step;
            double max = Math.ceil(hi / step) * step;
            return new Ticks(min, max, step, Plots.pattern(step, Math.max(Math.abs(min), Math.abs(max))), false);
        }

        static Ticks log(double lo, double hi) {
            int a = (int) Math.floor(Math.log10(lo));
            int b = (int) Math.ceil(Math.log10(hi));
            if (b == a) {
                b++;
            }
            if (b - a <= MAX_DECADES) {
                return new Ticks(Math.pow(10, a), Math.pow(10, b), 10, "", false);
            }
            double step = Math.max(1, niceStep((b - a) / 8.0));
            double min = Math.floor(a / step) * step;
            double max = Math.ceil(b / step) * step;
            return new Ticks(min, max, step, "0", true);
        }

        /** The number of labelled ticks: multiples of the step (decades on a log axis) from min to max. */
        int labels() {
            if (step == 10 && !log10) {
                return (int) Math.round(Math.log10(max / min)) + 1;
            }
            return (int) Math.round((max - min) / step) + 1;
        }
    }

    /** 1, 2 or 5 times a power of ten, the smallest at least {@code raw}. */
    static double niceStep(double raw) {
        double p = Math.pow(10, Math.floor(Math.log10(raw)));
        for (double m : new double[] {1, 2, 5, 10}) {
            if (m * p >= raw * (1 - 1e-9)) {
                return m * p;
            }
        }
        return 10 * p;
    }

    /** Digits enough for multiples of {@code step}; scientific notation for very large or small numbers. */
    static String pattern(double step, double magnitude) {
        if (magnitude >= 1e6 || magnitude < 1e-3 && magnitude > 0) {
            return "0.##E0";
        }
        int decimals = Math.max(0, (int) -Math.floor(Math.log10(step) + 1e-9));
        return decimals == 0 ? "0" : "0." + "0".repeat(decimals);
    }

    /**
     * At most {@code max} points: unchanged if shorter, else for each of max/2 buckets of consecutive
     * points its minimum and maximum (once if they are one point), in x order, so that spikes and
     * the overall range survive.
     */
    static double[][] downsample(double[] x, double[] y, int max) {
        int n = x.length;
        if (n <= max) {
            return new double[][] {x, y};
        }
        int buckets = max / 2;
        double[] ox = new double[2 * buckets];
        double[] oy = new double[2 * buckets];
        int k = 0;
        for (int b = 0; b < buckets; b++) {
            int from = (int) ((long) b * n / buckets);
            int to = (int) ((long) (b + 1) * n / buckets);
            int lo = from;
            int hi = from;
            for (int i = from; i < to; i++) {
                if (y[i] < y[lo]) {
                    lo = i;
                }
                if (y[i] > y[hi]) {
                    hi = i;
                }
            }
            int first = Math.min(lo, hi);
            int second = Math.max(lo, hi);
            ox[k] = x[first];
            oy[k++] = y[first];
            if (second != first) {
                ox[k] = x[second];
                oy[k++] = y[second];
            }
        }
        return new double[][] {Arrays.copyOf(ox, k), Arrays.copyOf(oy, k)};
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

        /** Room on the left for block names. */
        static final int NAMES_W = 110;

        static final int MAX_PLOT = 1000;
        static final int TARGET_PLOT = 800;
        static final int TITLE_H = 40;
        static final int MARGIN = 20;
        static final int BAR_GAP = 20;
        static final int BAR_W = 20;
        static final int BAR_LABELS_W = 90;
        static final int MIN_WIDTH = 400;

        static HeatmapLayout of(int rows, int cols) {
            return of(rows, cols, 0);
        }

        static HeatmapLayout of(int rows, int cols, int namesW) {
            int longest = Math.max(1, Math.max(rows, cols));
            int pool = longest > MAX_PLOT ? (longest + MAX_PLOT - 1) / MAX_PLOT : 1;
            int cell = longest >= TARGET_PLOT ? 1 : Math.max(1, TARGET_PLOT / longest);
            int pRows = (rows + pool - 1) / pool;
            int pCols = (cols + pool - 1) / pool;
            int plotW = Math.max(1, pCols * cell);
            int plotH = Math.max(1, pRows * cell);
            int width = Math.max(MIN_WIDTH, MARGIN + namesW + plotW + BAR_GAP + BAR_W + BAR_LABELS_W);
            int height = TITLE_H + Math.max(plotH, 100) + MARGIN;
            return new HeatmapLayout(pRows, pCols, pool, cell, MARGIN + namesW, TITLE_H, plotW, plotH, width, height);
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
        heatmap(png, title, matrix, boundaries, null);
    }

    /**
     * As {@link #heatmap(Path, String, double[][], int[])}, with the blocks named: {@code names[i]} is
     * the block that starts at {@code starts[i]} (the first at 0), written beside its rows where it is
     * at least one text line tall; the title says how many narrower blocks are left unnamed.
     */
    public static void heatmap(Path png, String title, double[][] matrix, int[] starts, List<String> names)
            throws IOException {
        headless();
        int rows = matrix.length;
        int cols = rows == 0 ? 0 : matrix[0].length;
        for (double[] row : matrix) {
            if (row.length != cols) {
                throw new IllegalArgumentException("heatmap matrix is ragged");
            }
        }
        if (names != null && names.size() != starts.length) {
            throw new IllegalArgumentException(names.size() + " block names for " + starts.length + " blocks");
        }
        HeatmapLayout L = HeatmapLayout.of(rows, cols, names == null ? 0 : HeatmapLayout.NAMES_W);
        double[][] pooled = PooledMatrix.of(matrix, HeatmapLayout.MAX_PLOT);
        int[] boundaries = starts;
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

            int unnamed = names == null ? 0 : nameBlocks(g, L, starts, names, rows);

            // title
            g.setFont(new Font(Font.SANS_SERIF, Font.BOLD, 16));
            fm = g.getFontMetrics();
            String text = title + "  (" + rows + "x" + cols + (L.pool() > 1 ? ", max-|v| pooled " + L.pool() + "x" : "")
                    + (unnamed > 0 ? ", " + unnamed + " narrow block" + (unnamed > 1 ? "s" : "") + " unnamed" : "")
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

    /** Writes each block's name left of its rows, centred on them; returns how many did not fit. */
    private static int nameBlocks(Graphics2D g, HeatmapLayout L, int[] starts, List<String> names, int rows) {
        g.setFont(new Font(Font.SANS_SERIF, Font.PLAIN, 11));
        FontMetrics fm = g.getFontMetrics();
        g.setColor(Color.BLACK);
        int unnamed = 0;
        for (int i = 0; i < starts.length && starts[i] < rows; i++) {
            int end = Math.min(rows, i + 1 < starts.length ? starts[i + 1] : rows);
            int y0 = L.plotY() + (int) Math.round((double) starts[i] / L.pool() * L.cell());
            int y1 = L.plotY() + (int) Math.round((double) end / L.pool() * L.cell());
            if (y1 - y0 < fm.getHeight()) {
                unnamed++;
                continue;
            }
            String name = names.get(i);
            while (fm.stringWidth(name) > HeatmapLayout.NAMES_W - 8 && name.length() > 1) {
                name = name.substring(0, name.length() - 1);
            }
            int x = L.plotX() - 6 - fm.stringWidth(name);
            g.drawString(name, x, (y0 + y1) / 2 + fm.getAscent() / 2 - 1);
        }
        return unnamed;
    }

    /** Max-|value| pooling of {@code pool x pool} blocks (identity when pool is 1); NaN only if all are NaN. */
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
