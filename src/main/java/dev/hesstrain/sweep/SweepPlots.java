package dev.hesstrain.sweep;

import dev.hesstrain.runs.AtomicFiles;
import java.awt.BasicStroke;
import java.awt.Color;
import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.Comparator;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.TreeMap;
import java.util.function.ToDoubleFunction;
import org.knowm.xchart.BitmapEncoder;
import org.knowm.xchart.BitmapEncoder.BitmapFormat;
import org.knowm.xchart.XYChart;
import org.knowm.xchart.XYChartBuilder;
import org.knowm.xchart.XYSeries;
import org.knowm.xchart.XYSeries.XYSeriesRenderStyle;
import org.knowm.xchart.style.Styler.LegendPosition;
import org.knowm.xchart.style.markers.SeriesMarkers;

/**
 * The sweep's plots (XChart, 800x500, written atomically): validation loss and the Hessian norm
 * against λ (or the first numeric axis) with one faint line per seed and the seeds' mean ± one
 * standard deviation in bold, and validation loss against curvature, the trade-off front, with the
 * best member marked.
 */
public final class SweepPlots {
    public static final String VAL_PLOT = "val_loss_vs_lambda.png";
    public static final String HESSIAN_PLOT = "hessian_vs_lambda.png";
    public static final String FRONT_PLOT = "tradeoff.png";
    private static final Color[] PALETTE = {new Color(31, 119, 180), new Color(214, 39, 40), new Color(44, 160, 44),
        new Color(148, 103, 189), new Color(255, 127, 14), new Color(140, 86, 75), new Color(23, 190, 207)};

    private SweepPlots() {}

    static void write(Path dir, SweepReport r) throws IOException {
        System.setProperty("java.awt.headless", "true");
        String x = xAxis(r);
        String loss = r.loss();
        if (x != null) {
            byX(dir.resolve(VAL_PLOT), r, x, r::score, r.scoreLabel(), false);
            byX(dir.resolve(HESSIAN_PLOT), r, x, SweepReport.Row::hessianMean, "mean ||H||_F (training samples)"
                    + (r.hessian() ? "" : ": no member has Hessian norms"), true);
        } else {
            // a sweep over seeds alone: nothing to plot against (the report gives the spread over seeds)
            Files.deleteIfExists(dir.resolve(VAL_PLOT));
            Files.deleteIfExists(dir.resolve(HESSIAN_PLOT));
        }
        front(dir.resolve(FRONT_PLOT), r);
    }

    /**
     * penalty.lambda if varied, else the first axis but seed whose values are all numbers, else null:
     * the loss against the seed (on a log axis, as it was) shows nothing, so a sweep over seeds alone
     * has no such plot and its report gives the spread over the seeds instead ({@link SweepReport#seedSpread}).
     */
    static String xAxis(SweepReport r) {
        if (r.paths().contains("penalty.lambda")) {
            return "penalty.lambda";
        }
        for (String p : r.paths()) {
            if (!p.equals("seed") && r.rows().stream().allMatch(row -> isNumber(row.values().get(p)))) {
                return p;
            }
        }
        return null;
    }

    private static boolean isNumber(String s) {
        try {
            return Double.isFinite(Double.parseDouble(s));
        } catch (NumberFormatException | NullPointerException e) {
            return false;
        }
    }

    private static XYChart chart(String title, String xLabel, String yLabel) {
        XYChart c = new XYChartBuilder().width(800).height(500).title(title).xAxisTitle(xLabel).yAxisTitle(yLabel).build();
        c.getStyler().setDefaultSeriesRenderStyle(XYSeriesRenderStyle.Line);
        c.getStyler().setChartBackgroundColor(Color.WHITE);
        c.getStyler().setLegendPosition(LegendPosition.OutsideS);
        c.getStyler().setLegendLayout(org.knowm.xchart.style.Styler.LegendLayout.Horizontal);
        c.getStyler().setErrorBarsColorSeriesColor(true);
        return c;
    }

    private static void byX(Path png, SweepReport r, String x, ToDoubleFunction<SweepReport.Row> y, String yLabel,
            boolean logY) throws IOException {
        boolean seeded = r.paths().contains("seed") && !x.equals("seed");
        List<SweepReport.Row> rows = r.rows().stream().filter(row -> Double.isFinite(y.applyAsDouble(row))).toList();
        double[] xs = rows.stream().mapToDouble(row -> Double.parseDouble(row.values().get(x))).toArray();
        boolean logX = xs.length > 0 && java.util.Arrays.stream(xs).filter(v -> v > 0).count() >= 2
                && java.util.Arrays.stream(xs).filter(v -> v > 0).max().getAsDouble()
                        >= 100 * java.util.Arrays.stream(xs).filter(v -> v > 0).min().getAsDouble();
        boolean yLog = logY && rows.stream().allMatch(row -> y.applyAsDouble(row) > 0) && !rows.isEmpty();
        String title = yLabel + " against " + x + (seeded ? " (faint: each seed; bold: their mean ± sd)" : "");
        XYChart c = chart(title, x + (logX ? " (log)" : ""), yLabel);
        c.getStyler().setXAxisLogarithmic(logX);
        c.getStyler().setYAxisLogarithmic(yLog);
        // one curve per combination of the other axes (not x, not seed)
        Map<String, List<SweepReport.Row>> curves = new LinkedHashMap<>();
        for (SweepReport.Row row : rows) {
            StringBuilder k = new StringBuilder();
            for (String p : r.paths()) {
                if (!p.equals(x) && !p.equals("seed")) {
                    k.append(k.length() == 0 ? "" : " ").append(SweepPlan.shortName(p)).append('=').append(row.values().get(p));
                }
            }
            curves.computeIfAbsent(k.toString(), kk -> new ArrayList<>()).add(row);
        }
        int ci = 0;
        boolean any = false;
        for (Map.Entry<String, List<SweepReport.Row>> curve : curves.entrySet()) {
            Color color = PALETTE[ci++ % PALETTE.length];
            String label = curve.getKey().isEmpty() ? "" : curve.getKey() + " ";
            // x → the values of every seed
            TreeMap<Double, List<Double>> byXValue = new TreeMap<>();
            List<Double> zero = new ArrayList<>();
            Map<Long, TreeMap<Double, Double>> bySeed = new LinkedHashMap<>();
            for (SweepReport.Row row : curve.getValue()) {
                double xv = Double.parseDouble(row.values().get(x));
                double yv = y.applyAsDouble(row);
                if (logX && xv <= 0) {
                    zero.add(yv); // not on a log axis: drawn as a level line below
                    continue;
                }
                byXValue.computeIfAbsent(xv, k -> new ArrayList<>()).add(yv);
                bySeed.computeIfAbsent(row.seed(), k -> new TreeMap<>()).put(xv, yv);
            }
            if (byXValue.isEmpty()) {
                continue;
            }
            any = true;
            if (seeded) {
                Color faint = new Color(color.getRed(), color.getGreen(), color.getBlue(), 70);
                for (Map.Entry<Long, TreeMap<Double, Double>> s : bySeed.entrySet()) {
                    XYSeries line = c.addSeries(label + "seed " + s.getKey(), keys(s.getValue()), vals(s.getValue()));
                    line.setLineColor(faint);
                    line.setLineStyle(new BasicStroke(1f));
                    line.setMarker(SeriesMarkers.NONE);
                    line.setShowInLegend(false);
                }
            }
            double[] mx = byXValue.keySet().stream().mapToDouble(Double::doubleValue).toArray();
            double[] mean = new double[mx.length];
            double[] sd = new double[mx.length];
            int i = 0;
            for (List<Double> v : byXValue.values()) {
                double m = v.stream().mapToDouble(Double::doubleValue).average().orElse(Double.NaN);
                double ss = v.stream().mapToDouble(d -> (d - m) * (d - m)).sum();
                mean[i] = m;
                sd[i] = v.size() > 1 ? Math.sqrt(ss / (v.size() - 1)) : 0;
                i++;
            }
            String name = seeded ? label + "mean ± sd over seeds" : (label.isEmpty() ? yLabel : label.strip());
            XYSeries bold = seeded && !yLog ? c.addSeries(name, mx, mean, sd) : c.addSeries(name, mx, mean);
            bold.setLineColor(color);
            bold.setMarkerColor(color);
            bold.setLineStyle(new BasicStroke(3f));
            bold.setMarker(SeriesMarkers.CIRCLE);
            if (!zero.isEmpty()) {
                double level = zero.stream().mapToDouble(Double::doubleValue).average().getAsDouble();
                XYSeries z = c.addSeries(String.format(java.util.Locale.ROOT, "%s%s = 0%s: %.4g", label,
                        SweepPlan.shortName(x), zero.size() > 1 ? " (mean)" : "", level),
                        new double[] {mx[0], mx[mx.length - 1]}, new double[] {level, level});
                z.setLineColor(color);
                z.setLineStyle(new BasicStroke(1.5f, BasicStroke.CAP_BUTT, BasicStroke.JOIN_MITER, 10f,
                        new float[] {2f, 4f}, 0f));
                z.setMarker(SeriesMarkers.NONE);
            }
            if (seeded && yLog) { // error bars cannot go below zero on a log axis: draw the band's edges
                double[] lo = new double[mx.length];
                double[] hi = new double[mx.length];
                for (int j = 0; j < mx.length; j++) {
                    lo[j] = Math.max(mean[j] - sd[j], mean[j] * 1e-3);
                    hi[j] = mean[j] + sd[j];
                }
                for (double[] edge : new double[][] {lo, hi}) {
                    XYSeries e = c.addSeries(name + (edge == lo ? " -sd" : " +sd"), mx, edge);
                    e.setLineColor(color);
                    e.setLineStyle(new BasicStroke(2f, BasicStroke.CAP_BUTT, BasicStroke.JOIN_MITER, 10f,
                            new float[] {6f, 4f}, 0f));
                    e.setMarker(SeriesMarkers.NONE);
                    e.setShowInLegend(false);
                }
            }
        }
        if (!any) {
            c.setTitle(title + (r.rows().stream().anyMatch(SweepReport.Row::finished) ? "" : " (no finished members yet)"));
            c.getStyler().setLegendVisible(false);
            c.getStyler().setXAxisLogarithmic(false);
            c.getStyler().setYAxisLogarithmic(false);
        }
        save(c, png);
    }

    private static double[] keys(TreeMap<Double, Double> m) {
        return m.keySet().stream().mapToDouble(Double::doubleValue).toArray();
    }

    private static double[] vals(TreeMap<Double, Double> m) {
        return m.values().stream().mapToDouble(Double::doubleValue).toArray();
    }

    /** Validation loss against curvature: every member, the lower-left front, the best member marked. */
    private static void front(Path png, SweepReport r) throws IOException {
        List<SweepReport.Row> rows = r.rows().stream()
                .filter(row -> Double.isFinite(r.score(row)) && Double.isFinite(row.hessianMean())).toList();
        XYChart c = chart(r.scoreLabel() + " against curvature: the trade-off front", "mean ||H||_F (training samples)",
                r.scoreLabel());
        if (rows.isEmpty()) {
            c.setTitle(c.getTitle() + (r.rows().stream().anyMatch(row -> Double.isFinite(r.score(row)))
                    ? " (no member has Hessian norms)" : " (no finished members yet)"));
            c.getStyler().setLegendVisible(false);
            save(c, png);
            return;
        }
        
        boolean logX = rows.stream().allMatch(row -> row.hessianMean() > 0)
                && rows.stream().mapToDouble(SweepReport.Row::hessianMean).max().getAsDouble()
                        >= 100 * rows.stream().mapToDouble(SweepReport.Row::hessianMean).min().getAsDouble();
        boolean logY = rows.stream().allMatch(row -> r.score(row) > 0)
                && rows.stream().mapToDouble(r::score).max().getAsDouble()
                        >= 100 * rows.stream().mapToDouble(r::score).min().getAsDouble();
        c.getStyler().setXAxisLogarithmic(logX);
        c.getStyler().setYAxisLogarithmic(logY);
        XYSeries all = c.addSeries("members", rows.stream().mapToDouble(SweepReport.Row::hessianMean).toArray(),
                rows.stream().mapToDouble(r::score).toArray());
        all.setXYSeriesRenderStyle(XYSeriesRenderStyle.Scatter);
        all.setMarker(SeriesMarkers.CIRCLE);
        all.setMarkerColor(new Color(31, 119, 180, 160));
        List<SweepReport.Row> sorted = new ArrayList<>(rows);
        sorted.sort(Comparator.comparingDouble(SweepReport.Row::hessianMean).thenComparingDouble(r::score));
        List<SweepReport.Row> front = new ArrayList<>();
        double best = Double.POSITIVE_INFINITY;
        for (SweepReport.Row row : sorted) {
            if (r.score(row) < best) {
                front.add(row);
                best = r.score(row);
            }
        }
        XYSeries f = c.addSeries("front (no member is both smoother and better)",
                front.stream().mapToDouble(SweepReport.Row::hessianMean).toArray(),
                front.stream().mapToDouble(r::score).toArray());
        f.setXYSeriesRenderStyle(XYSeriesRenderStyle.Line);
        f.setLineColor(new Color(214, 39, 40));
        f.setLineStyle(new BasicStroke(2.5f));
        f.setMarker(SeriesMarkers.NONE);
        SweepReport.Row top = front.get(front.size() - 1); // the lowest validation (or training) loss
        StringBuilder label = new StringBuilder("best: ");
        top.values().forEach((k, v) -> label.append(SweepPlan.shortName(k)).append('=').append(v).append(' '));
        XYSeries b = c.addSeries(label.toString().strip(), new double[] {top.hessianMean()}, new double[] {r.score(top)});
        b.setXYSeriesRenderStyle(XYSeriesRenderStyle.Scatter);
        b.setMarker(SeriesMarkers.DIAMOND);
        b.setMarkerColor(Color.BLACK);
        c.getStyler().setMarkerSize(9);
        save(c, png);
    }

    private static void save(XYChart chart, Path png) throws IOException {
        AtomicFiles.write(png, out -> BitmapEncoder.saveBitmap(chart, out, BitmapFormat.PNG));
    }
}
