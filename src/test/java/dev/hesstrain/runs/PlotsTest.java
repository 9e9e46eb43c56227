package dev.hesstrain.runs;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertNotNull;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.awt.Color;
import java.awt.image.BufferedImage;
import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.stream.Stream;
import javax.imageio.ImageIO;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

class PlotsTest {

    @TempDir
    Path dir;

    private static BufferedImage png(Path f) throws IOException {
        assertTrue(Files.isRegularFile(f), f + " exists");
        byte[] head = new byte[8];
        try (var in = Files.newInputStream(f)) {
            assertEquals(8, in.read(head));
        }
        assertEquals((byte) 0x89, head[0]);
        assertEquals("PNG", new String(head, 1, 3, java.nio.charset.StandardCharsets.US_ASCII));
        BufferedImage img = ImageIO.read(f.toFile());
        assertNotNull(img, "decodable PNG");
        return img;
    }

    private void assertNoTempFiles() throws IOException {
        try (Stream<Path> s = Files.list(dir)) {
            List<String> tmp = s.map(p -> p.getFileName().toString()).filter(n -> n.contains(".tmp-")).toList();
            assertEquals(List.of(), tmp);
        }
    }

    @Test
    void lineChartLinearAndLog() throws IOException {
        double[] x = {0, 1, 2, 3, 4};
        LinkedHashMap<String, double[]> s = new LinkedHashMap<>();
        s.put("loss", new double[] {1.0, 0.5, 0.25, 0.0, Double.NaN});
        s.put("penalty", new double[] {-1, 2, 3, Double.POSITIVE_INFINITY, 5});
        Path lin = dir.resolve("lin.png");
        Plots.lineChart(lin, "Loss", "epoch", "value", false, x, s);
        BufferedImage img = png(lin);
        assertEquals(800, img.getWidth());
        assertEquals(500, img.getHeight());

        Path log = dir.resolve("log.png");
        Plots.lineChart(log, "Loss", "epoch", "value", true, x, s);
        img = png(log);
        assertEquals(800, img.getWidth());
        assertEquals(500, img.getHeight());
        assertNoTempFiles();
    }

    @Test
    void logChartWithNoPositiveValuesStillWrites() throws IOException {
        LinkedHashMap<String, double[]> s = new LinkedHashMap<>();
        s.put("zeros", new double[] {0, 0, 0});
        s.put("negative", new double[] {-1, -2, Double.NaN});
        Path f = dir.resolve("empty.png");
        Plots.lineChart(f, "Penalty", "step", "value", true, new double[] {1, 2, 3}, s);
        BufferedImage img = png(f);
        assertEquals(800, img.getWidth());

        Path g = dir.resolve("noseries.png");
        Plots.lineChart(g, "Nothing", "x", "y", true, new double[0], new LinkedHashMap<>());
        png(g);
    }

    @Test
    void barsSmallAndLarge() throws IOException {
        Path small = dir.resolve("eig_small.png");
        Plots.bars(small, "Eigenvalues", "index", "eigenvalue", new double[] {-2, -0.5, 0, 1, 3, Double.NaN});
        BufferedImage img = png(small);
        assertEquals(800, img.getWidth());
        assertEquals(500, img.getHeight());

        double[] many = new double[784];
        for (int i = 0; i < many.length; i++) many[i] = Math.exp(-i / 100.0) - 0.1;
        Path large = dir.resolve("eig_large.png");
        Plots.bars(large, "Eigenvalues", "index", "eigenvalue", many);
        img = png(large);
        assertEquals(800, img.getWidth());

        Path none = dir.resolve("eig_none.png");
        Plots.bars(none, "Eigenvalues", "index", "eigenvalue", new double[] {Double.NaN});
        png(none);
        assertNoTempFiles();
    }

    private static boolean reddish(int rgb) {
        Color c = new Color(rgb);
        return c.getRed() > c.getBlue() + 80 && c.getRed() > c.getGreen() + 80;
    }

    private static boolean bluish(int rgb) {
        Color c = new Color(rgb);
        return c.getBlue() > c.getRed() + 80;
    }

    private static int cellPixel(BufferedImage img, Plots.HeatmapLayout l, int r, int c) {
        int x = l.plotX() + (c / l.pool()) * l.cell() + l.cell() / 2;
        int y = l.plotY() + (r / l.pool()) * l.cell() + l.cell() / 2;
        return img.getRGB(x, y);
    }

    @Test
    void heatmapColoursAndSize() throws IOException {
        int n = 10;
        double[][] m = new double[n][n];
        m[2][3] = 5.0;
        m[7][1] = -4.0;
        m[0][0] = 0.1;
        Path f = dir.resolve("heat.png");
        Plots.heatmap(f, "Hessian", m, new int[] {5});
        BufferedImage img = png(f);
        Plots.HeatmapLayout l = Plots.HeatmapLayout.of(n, n);
        assertEquals(l.width(), img.getWidth());
        assertEquals(l.height(), img.getHeight());
        assertTrue(reddish(cellPixel(img, l, 2, 3)), "positive cell is red");
        assertTrue(bluish(cellPixel(img, l, 7, 1)), "negative cell is blue");
        assertEquals(Color.WHITE.getRGB(), cellPixel(img, l, 4, 4), "zero is white");
        // boundary line at index 5 (between rows/cols 4 and 5)
        int line = l.plotX() + 5 * l.cell();
        assertEquals(Color.BLACK.getRGB(), img.getRGB(line, l.plotY() + l.cell() / 2));
    }

    @Test
    void largeHeatmapIsPooledToAtMost1000Pixels() throws IOException {
        int n = 2500;
        double[][] m = new double[n][n];
        m[1234][17] = 9.0;   // single spikes must survive max-|v| pooling
        m[2][2400] = -9.0;
        m[0][0] = 1.0;
        Path f = dir.resolve("big.png");
        Plots.heatmap(f, "Big", m, new int[0]);
        BufferedImage img = png(f);
        Plots.HeatmapLayout l = Plots.HeatmapLayout.of(n, n);
        assertEquals(3, l.pool());
        assertTrue(l.plotW() <= 1000 && l.plotH() <= 1000);
        assertEquals(l.width(), img.getWidth());
        assertTrue(reddish(cellPixel(img, l, 1234, 17)));
        assertTrue(bluish(cellPixel(img, l, 2, 2400)));
        assertNoTempFiles();
    }

    @Test
    void longCurvesAreDownsampledToMinAndMaxPerBucket() {
        int n = 356_000;
        double[] x = new double[n];
        double[] y = new double[n];
        for (int i = 0; i < n; i++) {
            x[i] = i + 1;
            y[i] = 2 + Math.sin(i / 1000.0);
        }
        y[123_457] = 1e6; // a spike and a dip must survive
        y[300_001] = 1e-6;
        LinkedHashMap<String, double[]> s = new LinkedHashMap<>();
        s.put("loss", y);
        org.knowm.xchart.XYChart chart = Plots.lineChartOf("long", "epoch", "loss", false, x, s);
        org.knowm.xchart.XYSeries loss = chart.getSeriesMap().get("loss");
        assertTrue(loss.getXData().length <= Plots.MAX_POINTS && loss.getXData().length > Plots.MAX_POINTS / 2,
                loss.getXData().length + " points");
        double max = java.util.Arrays.stream(loss.getYData()).max().orElseThrow();
        double min = java.util.Arrays.stream(loss.getYData()).min().orElseThrow();
        assertEquals(1e6, max);
        assertEquals(1e-6, min);
        assertEquals(1, loss.getXData()[0]);
        double[] xs = loss.getXData();
        for (int i = 1; i < xs.length; i++) {
            assertTrue(xs[i] > xs[i - 1], "x stays in order");
        }
        // short curves are drawn as they are
        double[][] same = Plots.downsample(new double[] {1, 2, 3}, new double[] {3, 1, 2}, Plots.MAX_POINTS);
        assertEquals(3, same[0].length);
    }

    @Test
    void theLegendIsBelowThePlotAndEmptyChartsSaySo() {
        LinkedHashMap<String, double[]> s = new LinkedHashMap<>();
        s.put("train", new double[] {3, 2, 1});
        s.put("validation", new double[] {3.5, 2.5, 1.5});
        org.knowm.xchart.XYChart chart = Plots.lineChartOf("t", "epoch", "loss", true, new double[] {1, 2, 3}, s);
        assertEquals(org.knowm.xchart.style.Styler.LegendPosition.OutsideS, chart.getStyler().getLegendPosition());
        assertTrue(chart.getSeriesMap().keySet().containsAll(List.of("train", "validation")));

        // three epochs: whole-number ticks only (was 1.0, 1.2, ... 3.0)
        assertEquals("0", chart.getStyler().getXAxisDecimalPattern());
        assertEquals(1.0, chart.getStyler().getXAxisMin());
        assertEquals(3.0, chart.getStyler().getXAxisMax());

        LinkedHashMap<String, double[]> none = new LinkedHashMap<>();
        none.put("mean", new double[] {Double.NaN, Double.NaN});
        org.knowm.xchart.XYChart empty = Plots.lineChartOf("conv12: norm", "epoch", "norm", true, new double[] {1, 2}, none);
        assertEquals("conv12: norm (no data)", empty.getTitle());
        assertEquals(0, empty.getSeriesMap().size());
        assertEquals(false, empty.getStyler().isLegendVisible());
    }

    @Test
    void axesRunBetweenRoundNumbersWithShortLabels() {
        Plots.Ticks epochs = Plots.Ticks.linear(1, 200);
        assertEquals(0, epochs.min());
        assertEquals(200, epochs.max());
        assertEquals("0", epochs.pattern());
        Plots.Ticks long_ = Plots.Ticks.linear(1, 39_590);
        assertEquals(0, long_.min());
        assertEquals(40_000, long_.max());
        assertEquals("0", long_.pattern(), "not 1E0, 3.959E4");
        Plots.Ticks eig = Plots.Ticks.linear(-0.000312345678912, 0.0152);
        assertEquals("0.000", eig.pattern(), "not 15 digits");
        assertEquals(-0.002, eig.min(), 1e-15);
        assertEquals(0.016, eig.max(), 1e-15);
        assertTrue(eig.labels() <= 11, eig.toString());
        for (double raw : new double[] {0.03, 0.7, 24.9, 3e5}) {
            double step = Plots.niceStep(raw);
            double m = step / Math.pow(10, Math.floor(Math.log10(step) + 1e-9));
            assertTrue(step >= raw && step < 2.5 * raw, raw + " -> " + step);
            assertTrue(Math.abs(m - 1) < 1e-9 || Math.abs(m - 2) < 1e-9 || Math.abs(m - 5) < 1e-9, raw + " -> " + step);
        }
    }

    @Test
    void logAxesLabelAtLeastTwoAndAtMostElevenDecades() {
        Plots.Ticks narrow = Plots.Ticks.log(3, 7); // digits' hessian.png had one label
        assertEquals(1, narrow.min());
        assertEquals(10, narrow.max());
        assertEquals(2, narrow.labels());
        assertEquals(false, narrow.log10());
        Plots.Ticks loss = Plots.Ticks.log(0.07, 0.57);
        assertEquals(0.01, loss.min(), 1e-15);
        assertEquals(1, loss.max());
        Plots.Ticks ten = Plots.Ticks.log(1.5e-8, 1);
        assertEquals(false, ten.log10());
        assertEquals(9, ten.labels());
        Plots.Ticks diverged = Plots.Ticks.log(2e-5, 3e30); // 35 decades
        assertTrue(diverged.log10());
        assertTrue(diverged.labels() <= Plots.MAX_DECADES + 1, diverged.toString());
        assertTrue(diverged.min() <= Math.log10(2e-5) && diverged.max() >= Math.log10(3e30), diverged.toString());
        assertEquals(0, diverged.min() % diverged.step(), 1e-12);
    }

    @Test
    void heatmapNamesItsBlocks() throws IOException {
        int n = 40;
        double[][] m = new double[n][n];
        for (int i = 0; i < n; i++) {
            m[i][i] = i % 2 == 0 ? 1 : -1;
        }
        Path f = dir.resolve("named.png");
        Plots.heatmap(f, "Hessian", m, new int[] {0, 30, 39}, List.of("0.weight", "0.bias", "2.bias"));
        BufferedImage img = png(f);
        Plots.HeatmapLayout l = Plots.HeatmapLayout.of(n, n, Plots.HeatmapLayout.NAMES_W);
        assertEquals(l.width(), img.getWidth());
        assertEquals(Plots.HeatmapLayout.MARGIN + Plots.HeatmapLayout.NAMES_W, l.plotX());
        // dark text left of the plot, in the middle of the tall first block's rows
        int mid = l.plotY() + 15 * l.cell();
        int dark = 0;
        for (int x = Plots.HeatmapLayout.MARGIN; x < l.plotX() - 2; x++) {
            for (int y = mid - 6; y <= mid + 6; y++) {
                dark += new Color(img.getRGB(x, y)).getRed() < 100 ? 1 : 0;
            }
        }
        assertTrue(dark > 20, "the block's name is written beside it: " + dark + " dark pixels");
        // the same layout without names as before
        assertEquals(Plots.HeatmapLayout.MARGIN, Plots.HeatmapLayout.of(n, n).plotX());
        org.junit.jupiter.api.Assertions.assertThrows(IllegalArgumentException.class,
                () -> Plots.heatmap(dir.resolve("bad.png"), "x", m, new int[] {0, 30}, List.of("a")));
    }
}
