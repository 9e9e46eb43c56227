package dev.hesstrain.data;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import ai.djl.ndarray.NDArray;
import ai.djl.ndarray.NDList;
import ai.djl.ndarray.NDManager;
import ai.djl.ndarray.types.Shape;
import dev.hesstrain.spec.DataSpec;
import dev.hesstrain.spec.SpecException;
import java.io.IOException;
import java.io.OutputStream;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.List;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

class DataLoaderTest {
    @TempDir
    Path dir;

    private static DataSpec file(String name, List<String> targets, Integer inputs, Integer samples) {
        return new DataSpec(null, name, targets, inputs, samples, null, null, null);
    }

    private Path write(String name, String text) throws IOException {
        return Files.writeString(dir.resolve(name), text);
    }

    private static SpecException fails(DataSpec spec, Path base, boolean classification) {
        return assertThrows(SpecException.class, () -> DataLoader.load(spec, base, 0, classification));
    }

    // ------------------------------------------------------------ CSV

    @Test
    void csvTargetDefaultsToTheLastColumn() throws IOException {
        write("t.csv", "a,b,c\n1,2,3\n\n 4 , 5.5 ,-6e-1\n");
        Dataset data = DataLoader.load(file("t.csv", null, null, null), dir, 0, false);
        assertEquals(2, data.n());
        assertEquals(List.of("a", "b"), data.inputNames());
        assertEquals(List.of("c"), data.targetNames());
        assertArrayEquals(new double[] {1, 2, 4, 5.5}, data.x());
        assertArrayEquals(new double[] {3, -0.6}, data.y());
        assertEquals(dir.resolve("t.csv").toString(), data.source());
    }

    @Test
    void csvTargetsByName() throws IOException {
        write("t.csv", "a,b,c\n1,2,3\n4,5,6\n");
        Dataset one = DataLoader.load(file("t.csv", List.of("a"), 2, null), dir, 0, false);
        assertEquals(List.of("b", "c"), one.inputNames());
        assertArrayEquals(new double[] {2, 3, 5, 6}, one.x());
        assertArrayEquals(new double[] {1, 4}, one.y());

        Dataset two = DataLoader.load(file("t.csv", List.of("c", "a"), null, null), dir, 0, false);
        assertEquals(2, two.o());
        assertEquals(List.of("c", "a"), two.targetNames());
        assertEquals(List.of("b"), two.inputNames());
        assertArrayEquals(new double[] {3, 1, 6, 4}, two.y());
    }

    @Test
    void csvAbsolutePathIgnoresBaseDir() throws IOException {
        Path p = write("abs.csv", "u,v\n1,2\n");
        Dataset data = DataLoader.load(file(p.toString(), null, null, null), Path.of("/nonexistent"), 0, false);
        assertEquals(1, data.n());
    }

    @Test
    void csvMissingTargetColumnListsTheColumns() throws IOException {
        write("t.csv", "a,b,c\n1,2,3\n");
        SpecException e = fails(file("t.csv", List.of("foo"), null, null), dir, false);
        assertEquals("data.targets", e.field());
        assertTrue(e.getMessage().contains("no column 'foo' in "), e.getMessage());
        assertTrue(e.getMessage().endsWith("; columns: a, b, c"), e.getMessage());
    }

    @Test
    void csvBadNumberNamesLineAndColumn() throws IOException {
        write("t.csv", "a,b,c\n1,2,3\n\n4,abc,6\n");
        SpecException e = fails(file("t.csv", null, null, null), dir, false);
        assertEquals("data.file", e.field());
        assertTrue(e.getMessage().contains("t.csv:4:2: not a number: 'abc'"), e.getMessage());

        write("u.csv", "a,b\n1,\n");
        SpecException empty = fails(file("u.csv", null, null, null), dir, false);
        assertTrue(empty.getMessage().contains("u.csv:2:2: not a number: ''"), empty.getMessage());

        write("v.csv", "a,b\nNaN,1\n");
        SpecException nan = fails(file("v.csv", null, null, null), dir, false);
        assertTrue(nan.getMessage().contains("v.csv:2:1: not a number: 'NaN'"), nan.getMessage());
    }

    @Test
    void csvRaggedRowNamesTheLine() throws IOException {
        write("t.csv", "a,b,c\n1,2,3\n4,5\n");
        SpecException e = fails(file("t.csv", null, null, null), dir, false);
        assertEquals("data.file", e.field());
        assertTrue(e.getMessage().contains("t.csv:3: expected 3 comma-separated fields"), e.getMessage());
        assertTrue(e.getMessage().contains("found 2"), e.getMessage());
    }

    @Test
    void csvHeaderProblems() throws IOException {
        write("empty.csv", "\n\n");
        assertTrue(fails(file("empty.csv", null, null, null), dir, false).getMessage().contains("is empty"));
        write("norows.csv", "a,b\n");
        assertTrue(fails(file("norows.csv", null, null, null), dir, false).getMessage().contains("no data rows"));
        write("dup.csv", "a,b,a\n1,2,3\n");
        assertTrue(fails(file("dup.csv", null, null, null), dir, false).getMessage()
                .contains("dup.csv:1:3: column 'a' appears twice"));
        write("one.csv", "y\n1\n");
        assertEquals("data.targets", fails(file("one.csv", null, null, null), dir, false).field());
    }

    @Test
    void missingAndUnsupportedFiles() throws IOException {
        SpecException missing = fails(file("nope.csv", null, null, null), dir, false);
        assertEquals("data.file", missing.field());
        assertEquals("data.file: no such file: " + dir.resolve("nope.csv"), missing.getMessage());

        write("t.txt", "a,b\n1,2\n");
        SpecException txt = fails(file("t.txt", null, null, null), dir, false);
        assertEquals("data.file", txt.field());
        assertTrue(txt.getMessage().contains("unsupported file type"), txt.getMessage());
        assertTrue(txt.getMessage().contains("use .csv or .npz"), txt.getMessage());
    }

    @Test
    void inputsAndSamplesAreChecked() throws IOException {
        write("t.csv", "a,b,c\n1,2,3\n4,5,6\n7,8,9\n");
        SpecException inputs = fails(file("t.csv", null, 3, null), dir, false);
        assertEquals("data.inputs", inputs.field());
        assertTrue(inputs.getMessage().contains("the file has 2 input columns but inputs is 3"), inputs.getMessage());

        Dataset head = DataLoader.load(file("t.csv", null, 2, 2), dir, 0, false);
        assertEquals(2, head.n());
        assertArrayEquals(new double[] {1, 2, 4, 5}, head.x());
        assertArrayEquals(new double[] {3, 6}, head.y());

        SpecException tooMany = fails(file("t.csv", null, null, 4), dir, false);
        assertEquals("data.samples", tooMany.field());
        assertTrue(tooMany.getMessage().contains("has only 3 rows"), tooMany.getMessage());
    }

    @Test
    void classificationNeedsOneColumnOfNonNegativeIntegers() throws IOException {
        write("ok.csv", "a,label\n0.5,2\n0.1,0\n0.3,1\n");
        Dataset ok = DataLoader.load(file("ok.csv", null, null, null), dir, 0, true);
        assertEquals(3, ok.classes());

        write("frac.csv", "a,label\n0.5,1.5\n");
        SpecException frac = fails(file("frac.csv", null, null, null), dir, true);
        assertEquals("data.targets", frac.field());
        assertTrue(frac.getMessage().contains("non-negative integer"), frac.getMessage());
        assertTrue(frac.getMessage().contains("is 1.5 in row 0"), frac.getMessage());

        write("neg.csv", "a,label\n0.5,-1\n");
        assertEquals("data.targets", fails(file("neg.csv", null, null, null), dir, true).field());

        write("two.csv", "a,b,label\n0.5,1,2\n");
        SpecException two = fails(file("two.csv", List.of("b", "label"), null, null), dir, true);
        assertTrue(two.getMessage().contains("exactly one target column"), two.getMessage());
        // the same file is fine for regression
        assertEquals(1.5, DataLoader.load(file("frac.csv", null, null, null), dir, 0, false).y(0, 0));
    }

    @Test
    void generatorSpecsAreSampled() {
        DataSpec spec = new DataSpec("x1*x2", null, null, 2, 50, null, null, null);
        Dataset a = DataLoader.load(spec, dir, 4, false);
        assertEquals(Generator.generate(spec, 4).sha256(), a.sha256());
        assertEquals(50, a.n());
    }

    // ------------------------------------------------------------ NPZ

    private Path npz(String name, NDArray... arrays) throws IOException {
        Path p = dir.resolve(name);
        try (OutputStream os = Files.newOutputStream(p)) {
            new NDList(arrays).encode(os, NDList.Encoding.NPZ);
        }
        return p;
    }

    @Test
    void npzRoundTrip() throws IOException {
        double[] x = {0.1, 0.2, 0.3, 0.4, 0.5, 0.6};
        double[] y = {1.5, -2.5, 3.25};
        try (NDManager m = NDManager.newBaseManager()) {
            NDArray xa = m.create(x, new Shape(3, 2));
            xa.setName("x");
            NDArray ya = m.create(y, new Shape(3));
            ya.setName("y");
            npz("d.npz", ya, xa);
        }
        Dataset data = DataLoader.load(file("d.npz", null, 2, null), dir, 0, false);
        assertEquals(3, data.n());
        assertEquals(2, data.d());
        assertEquals(1, data.o());
        assertArrayEquals(x, data.x());
        assertArrayEquals(y, data.y());
        assertEquals(List.of("x1", "x2"), data.inputNames());
        assertEquals(List.of("y"), data.targetNames());
    }

    @Test
    void npzFlattensImagesAndNamesSeveralTargets() throws IOException {
        try (NDManager m = NDManager.newBaseManager()) {
            NDArray xa = m.arange(0f, 16f).reshape(2, 2, 2, 2); // float32, [n=2, 2, 2, 2]
            xa.setName("x");
            NDArray ya = m.create(new int[] {1, 2, 3, 4}, new Shape(2, 2));
            ya.setName("y");
            npz("img.npz", xa, ya);
        }
        Dataset data = DataLoader.load(file("img.npz", null, null, 1), dir, 0, false);
        assertEquals(1, data.n());
        assertEquals(8, data.d());
        assertArrayEquals(new double[] {0, 1, 2, 3, 4, 5, 6, 7}, data.x());
        assertEquals(List.of("y1", "y2"), data.targetNames());
        assertArrayEquals(new double[] {1, 2}, data.y());
    }

    @Test
    void npzWithoutYIsAnError() throws IOException {
        try (NDManager m = NDManager.newBaseManager()) {
            NDArray xa = m.create(new double[] {1, 2}, new Shape(2, 1));
            xa.setName("x");
            NDArray za = m.create(new double[] {1, 2}, new Shape(2));
            za.setName("z");
            npz("bad.npz", xa, za);
        }
        SpecException e = fails(file("bad.npz", null, null, null), dir, false);
        assertEquals("data.file", e.field());
        assertTrue(e.getMessage().contains("must hold arrays 'x' and 'y', found [x, z]"), e.getMessage());

        write("junk.npz", "not a zip file at all");
        assertEquals("data.file", fails(file("junk.npz", null, null, null), dir, false).field());
    }

    // ------------------------------------------------------------ bundled datasets

    @Test
    void quadraticCsvMatchesItsFormula() {
        DataSpec spec = file("datasets/quadratic.csv", null, 2, null);
        Dataset data = DataLoader.load(spec, Path.of("").toAbsolutePath(), 0, false);
        assertTrue(Files.isRegularFile(Path.of("datasets/quadratic.csv")));
        assertEquals(200, data.n());
        assertEquals(List.of("x1", "x2"), data.inputNames());
        assertEquals(List.of("y"), data.targetNames());
        for (int i = 0; i < data.n(); i++) {
            double x1 = data.x(i, 0);
            double x2 = data.x(i, 1);
            assertTrue(Math.abs(x1) <= 1 && Math.abs(x2) <= 1);
            double expected = x1 * x1 + 2 * x1 * x1 * x2 - 3 * x2 * x2 * x2;
            assertEquals(expected, data.y(i, 0), 1e-9, "row " + i);
        }
    }

    @Test
    void bundledDigitsAndDiabetesLoad() {
        Path root = Path.of("").toAbsolutePath();
        Dataset digits = DataLoader.load(file("datasets/digits.csv", null, 64, null), root, 0, true);
        assertEquals(1797, digits.n());
        assertEquals(10, digits.classes());
        assertEquals(List.of("label"), digits.targetNames());
        for (double v : digits.x()) {
            assertTrue(v >= 0 && v <= 16 && v == Math.rint(v));
        }
        Dataset diabetes = DataLoader.load(file("datasets/diabetes.csv", null, 10, null), root, 0, false);
        assertEquals(442, diabetes.n());
        assertEquals(List.of("age", "sex", "bmi", "bp", "s1", "s2", "s3", "s4", "s5", "s6"), diabetes.inputNames());
        assertEquals(List.of("target"), diabetes.targetNames());
        // scaled features: each column has sum of squares 1
        for (int j = 0; j < 10; j++) {
            double ss = 0;
            for (int i = 0; i < diabetes.n(); i++) {
                ss += diabetes.x(i, j) * diabetes.x(i, j);
            }
            assertEquals(1.0, ss, 1e-9);
        }
    }
}
