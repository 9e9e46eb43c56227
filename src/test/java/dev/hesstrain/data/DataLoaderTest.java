package dev.hesstrain.data;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import ai.djl.ndarray.NDArray;
import ai.djl.ndarray.NDList;
import ai.djl.ndarray.NDManager;
import ai.djl.ndarray.types.Shape;
import dev.hesstrain.spec.DType;
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
    void csvQuotedHeadersAndFieldsAreParsed() throws IOException {
        write("q.csv", "\uFEFF\"x, scaled\", \"the \"\"b\"\" input\" ,y\r\n\"1.5\", 2 ,\" 3 \"\r\n\r\n4,5,6\r\n");
        Dataset data = DataLoader.load(file("q.csv", null, null, null), dir, 0, false);
        assertEquals(List.of("x, scaled", "the \"b\" input"), data.inputNames());
        assertEquals(List.of("y"), data.targetNames());
        assertArrayEquals(new double[] {1.5, 2, 4, 5}, data.x());
        assertArrayEquals(new double[] {3, 6}, data.y());
        Dataset byName = DataLoader.load(file("q.csv", List.of("x, scaled"), null, null), dir, 0, false);
        assertArrayEquals(new double[] {1.5, 4}, byName.y());
    }

    @Test
    void csvQuotingProblemsNameLineAndColumn() throws IOException {
        write("open.csv", "a,b\n1,2\n3,\"4\n");
        SpecException open = fails(file("open.csv", null, null, null), dir, false);
        assertEquals("data.file", open.field());
        assertTrue(open.getMessage().contains("open.csv:3:"), open.getMessage());
        assertTrue(open.getMessage().contains("malformed CSV: Missing closing quote"), open.getMessage());
        // a quoted field keeps its commas: one field, then the row is short
        write("short.csv", "a,b\n\"1,2\"\n");
        assertTrue(fails(file("short.csv", null, null, null), dir, false).getMessage()
                .contains("short.csv:2: expected 2 comma-separated fields as in the header, found 1"));
        write("qbad.csv", "a,b\n1,\"2x\"\n");
        assertTrue(fails(file("qbad.csv", null, null, null), dir, false).getMessage()
                .contains("qbad.csv:2:2: not a number: '2x'"));
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

    @Test
    void valuesBeyondFloat32AreBadDataForAFloat32Model() throws IOException {
        write("big.csv", "a,y\n1,2\n3,1e39\n");
        DataSpec csv = file("big.csv", null, null, null);
        SpecException e = assertThrows(SpecException.class, () -> DataLoader.load(csv, null, dir, 0, false, DType.FLOAT32));
        assertEquals("data.file", e.field());
        assertTrue(e.getMessage().contains("column 'y' holds 1.0E39 in row 1 (rows count from 0)"), e.getMessage());
        assertTrue(e.getMessage().contains("beyond the float32 range"), e.getMessage());
        assertTrue(e.getMessage().contains("dtype: float64"), e.getMessage());
        // the same file is fine in float64, and -3e38 still fits in float32
        assertEquals(1e39, DataLoader.load(csv, null, dir, 0, false, DType.FLOAT64).y(1, 0));
        write("edge.csv", "a,y\n-3e38,1\n");
        assertEquals(-3e38, DataLoader.load(file("edge.csv", null, null, null), null, dir, 0, false, DType.FLOAT32).x(0, 0));

        DataSpec gen = new DataSpec("1e39*x1", null, null, 1, 10, null, null, null);
        SpecException g = assertThrows(SpecException.class, () -> DataLoader.load(gen, null, dir, 0, false, DType.FLOAT32));
        assertEquals("data.generator", g.field());
        assertTrue(g.getMessage().contains("beyond the float32 range"), g.getMessage());
        DataSpec wide = new DataSpec("x1", null, null, 1, 10, List.of(-1e39, 1e39), null, null);
        assertEquals("data.domain",
                assertThrows(SpecException.class, () -> DataLoader.load(wide, null, dir, 0, false, DType.FLOAT32)).field());
        // class labels are not cast to float32
        write("labels.csv", "a,label\n0.5,0\n0.25,1\n");
        assertEquals(2, DataLoader.load(file("labels.csv", null, null, null), null, dir, 0, true, DType.FLOAT32).n());
    }

    @Test
    void aRelativeFileIsLookedForBesideTheSpecThenInTheWorkingDirectory() throws IOException {
        Path specDir = Files.createDirectories(dir.resolve("configs"));
        Path work = Files.createDirectories(dir.resolve("work"));
        Files.writeString(specDir.resolve("near.csv"), "a,y\n1,2\n");
        Files.writeString(work.resolve("near.csv"), "a,y\n5,6\n");
        Files.writeString(work.resolve("far.csv"), "a,y\n7,8\n");
        DataSpec near = file("near.csv", null, null, null);
        assertEquals(1, DataLoader.load(near, specDir, work, 0, false, DType.FLOAT64).x(0, 0), "the spec's folder first");
        assertEquals(5, DataLoader.load(near, null, work, 0, false, DType.FLOAT64).x(0, 0), "no spec folder: cwd");
        assertEquals(7, DataLoader.load(file("far.csv", null, null, null), specDir, work, 0, false, DType.FLOAT64)
                .x(0, 0), "then the working directory");
        SpecException none = assertThrows(SpecException.class,
                () -> DataLoader.load(file("none.csv", null, null, null), specDir, work, 0, false, DType.FLOAT64));
        assertEquals("data.file: no such file: 'none.csv' is neither in the spec's folder (" + specDir.resolve("none.csv")
                + ") nor in the working directory (" + work.resolve("none.csv") + ")", none.getMessage());
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

    /** NumPy's own big-endian files (src/test/resources/data/README.md): byte order is honoured, not ignored. */
    @Test
    void npzBigEndianArraysAreReadInTheirByteOrder() throws IOException {
        Path fixtures = Path.of("src/test/resources/data").toAbsolutePath();
        Dataset be = DataLoader.load(file("big-endian.npz", null, null, null), fixtures, 0, false); // >f8, >f4
        assertArrayEquals(new double[] {0.1, 0.2, 0.3, 0.4, 0.5, 0.6}, be.x());
        assertArrayEquals(new double[] {1.5, -2.5, 3.25}, be.y());
        Dataset compressed = DataLoader.load(file("big-endian-compressed.npz", null, null, null), fixtures, 0, false);
        assertArrayEquals(new double[] {1, 2, 3, 4, 5, 6}, compressed.x()); // >i8, deflated
        assertArrayEquals(new double[] {1.5, -2.5, 3.25}, compressed.y()); // <f8 beside it
        SpecException f2 = fails(file("big-endian-f2.npz", null, null, null), fixtures, false);
        assertEquals("data.file", f2.field());
        assertTrue(f2.getMessage().contains("big-endian dtype >f2"), f2.getMessage());
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
