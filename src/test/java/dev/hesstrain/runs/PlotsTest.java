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
}
