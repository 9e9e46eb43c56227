package dev.hesstrain.data;

import ai.djl.ndarray.types.Shape;
import dev.hesstrain.spec.DType;
import dev.hesstrain.spec.DataSpec;
import dev.hesstrain.spec.SpecException;
import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.InvalidPathException;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.List;
import java.util.Locale;
import java.util.Map;
import org.apache.logging.log4j.LogManager;
import org.apache.logging.log4j.Logger;

/**
 * Turns a {@link DataSpec} into a {@link Dataset}: samples a generator, or reads a CSV file (with
 * a header row) or an .npz file (arrays {@code x} and {@code y}). Every user error is a
 * {@link SpecException} naming the spec field ({@code data.file}, {@code data.targets}, ...).
 */
public final class DataLoader {
    private static final Logger LOG = LogManager.getLogger(DataLoader.class);

    private DataLoader() {}

    /**
     * Loads the data a spec describes.
     *
     * @param baseDir directory that a relative {@code file} is resolved against (the working directory)
     * @param seed seed for a generator (ignored for files)
     * @param classification whether the targets must be class labels (one column of
     *     non-negative integers)
     */
    public static Dataset load(DataSpec spec, Path baseDir, long seed, boolean classification) {
        return load(spec, null, baseDir, seed, classification, DType.FLOAT64);
    }

    /**
     * Loads the data a spec describes, for a model of {@code dtype}.
     *
     * @param specDir the spec file's folder, where a relative {@code file} is looked for first
     *     (null: only {@code workDir})
     * @param workDir the working directory, where a relative {@code file} is looked for next
     * @param dtype the model's dtype: with float32, inputs (and real targets) beyond its range are
     *     bad data, not a divergence later
     */
    public static Dataset load(
            DataSpec spec, Path specDir, Path workDir, long seed, boolean classification, DType dtype) {
        Dataset data = spec.isGenerated() ? Generator.generate(spec, seed) : loadFile(spec, specDir, workDir);
        if (classification) {
            checkLabels(data);
        }
        if (dtype == DType.FLOAT32) {
            fitsFloat32(data, spec, classification);
        }
        return data;
    }

    /**
     * Where a relative {@code file} is: next to the spec first, then in the working directory. The
     * one used is logged; when neither exists, the error names both.
     */
    static Path resolve(String file, Path specDir, Path workDir) {
        Path path;
        try {
            path = Path.of(file);
        } catch (InvalidPathException e) {
            throw new SpecException("data.file", "not a valid path: '" + file + "'");
        }
        if (path.isAbsolute()) {
            if (!Files.exists(path)) {
                throw new SpecException("data.file", "no such file: " + path);
            }
            return path;
        }
        Path work = workDir.resolve(path);
        if (specDir == null || specDir.toAbsolutePath().normalize().equals(workDir.toAbsolutePath().normalize())) {
            if (!Files.exists(work)) {
                throw new SpecException("data.file", "no such file: " + work);
            }
            return work;
        }
        Path beside = specDir.resolve(path);
        if (Files.exists(beside)) {
            LOG.info("data.file {}: found in the spec's folder, {}", file, beside);
            return beside;
        }
        if (Files.exists(work)) {
            LOG.info("data.file {}: not in the spec's folder {}; found in the working directory, {}", file, specDir,
                    work);
            return work;
        }
        throw new SpecException("data.file", "no such file: '" + file + "' is neither in the spec's folder (" + beside
                + ") nor in the working directory (" + work + ")");
    }

    private static Dataset loadFile(DataSpec spec, Path specDir, Path workDir) {
        Path path = resolve(spec.file(), specDir, workDir);
        if (!Files.isRegularFile(path)) {
            throw new SpecException("data.file", path + " is not a regular file");
        }
        String name = path.getFileName().toString().toLowerCase(Locale.ROOT);
        Dataset data;
        if (name.endsWith(".csv")) {
            data = readCsv(path, spec.targets());
        } else if (name.endsWith(".npz")) {
            if (spec.targets() != null) {
                throw new SpecException("data.targets",
                        "applies only to .csv files; the targets of an .npz file are its array 'y'");
            }
            data = readNpz(path);
        } else {
            throw new SpecException("data.file", "unsupported file type '" + path.getFileName()
                    + "'; use .csv or .npz");
        }
        if (spec.inputs() != null && spec.inputs() != data.d()) {
            throw new SpecException("data.inputs",
                    "the file has " + data.d() + " input columns but inputs is " + spec.inputs());
        }
        if (spec.samples() != null) {
            if (spec.samples() > data.n()) {
                throw new SpecException("data.samples",
                        "is " + spec.samples() + " but " + path + " has only " + data.n() + " rows");
            }
            data = data.head(spec.samples());
        }
        return data;
    }

    // ---------------------------------------------------------------- CSV

    /**
     * Reads a comma-separated file whose first non-blank line names the columns. Blank lines are
     * ignored and fields are trimmed. {@code targets} names the target columns (default: the last
     * column); all other columns are inputs, in file order.
     */
    static Dataset readCsv(Path path, List<String> targets) {
        CsvTable table;
        try {
            table = CsvTable.read(path);
        } catch (CsvTable.Problem e) {
            throw new SpecException("data.file", e.getMessage());
        }
        List<String> columns = table.columns();
        int[] targetCols = targetColumns(path, columns, targets);
        int[] inputCols = inputColumns(columns, targetCols);
        if (inputCols.length == 0) {
            throw new SpecException("data.targets", path + " has no input columns left once the "
                    + "targets (" + String.join(", ", names(columns, targetCols)) + ") are taken");
        }
        int n = table.rows().size();
        double[] x = new double[n * inputCols.length];
        double[] y = new double[n * targetCols.length];
        for (int r = 0; r < n; r++) {
            double[] row = table.rows().get(r);
            for (int i = 0; i < inputCols.length; i++) {
                x[r * inputCols.length + i] = row[inputCols[i]];
            }
            for (int i = 0; i < targetCols.length; i++) {
                y[r * targetCols.length + i] = row[targetCols[i]];
            }
        }
        return new Dataset(x, y, n, inputCols.length, targetCols.length,
                names(columns, inputCols), names(columns, targetCols), path.toString());
    }

    private static int[] targetColumns(Path path, List<String> columns, List<String> targets) {
        if (targets == null) {
            return new int[] {columns.size() - 1};
        }
        if (targets.isEmpty()) {
            throw new SpecException("data.targets", "must name at least one column");
        }
        int[] cols = new int[targets.size()];
        for (int t = 0; t < targets.size(); t++) {
            String name = targets.get(t);
            int c = columns.indexOf(name);
            if (c < 0) {
                throw new SpecException("data.targets", "no column '" + name + "' in " + path
                        + "; columns: " + String.join(", ", columns));
            }
            if (targets.subList(0, t).contains(name)) {
                throw new SpecException("data.targets", "names column '" + name + "' twice");
            }
            cols[t] = c;
        }
        return cols;
    }

    private static int[] inputColumns(List<String> columns, int[] targetCols) {
        return java.util.stream.IntStream.range(0, columns.size())
                .filter(c -> Arrays.stream(targetCols).noneMatch(t -> t == c))
                .toArray();
    }

    private static List<String> names(List<String> columns, int[] cols) {
        List<String> out = new ArrayList<>(cols.length);
        for (int c : cols) {
            out.add(columns.get(c));
        }
        return out;
    }

    // ---------------------------------------------------------------- NPZ

    /**
     * Reads an .npz archive holding arrays {@code x} ([n, d], or [n, ...] flattened to d features)
     * and {@code y} ([n] or [n, o]). Inputs are named x1..xd; targets y1..yo, or "y" when o = 1.
     */
    static Dataset readNpz(Path path) {
        Map<String, Npz.Array> arrays;
        try {
            arrays = Npz.read(path);
        } catch (IOException | RuntimeException e) {
            throw new SpecException("data.file", "cannot read " + path + " as .npz: " + e.getMessage());
        }
        Npz.Array xa = arrays.get("x");
        Npz.Array ya = arrays.get("y");
        if (xa == null || ya == null) {
            throw new SpecException("data.file", path + " must hold arrays 'x' and 'y', found "
                    + new ArrayList<>(arrays.keySet()));
        }
        Shape xs = new Shape(xa.shape());
        Shape ys = new Shape(ya.shape());
        if (xs.dimension() == 0 || ys.dimension() == 0) {
            throw new SpecException("data.file", path + ": 'x' and 'y' must have a first axis of rows, found shapes "
                    + xs + " and " + ys);
        }
        long n = xs.get(0);
        if (ys.get(0) != n) {
            throw new SpecException("data.file", path + ": 'x' has " + n + " rows but 'y' has " + ys.get(0)
                    + " (shapes " + xs + " and " + ys + ")");
        }
        if (n == 0 || xs.size() == 0 || ys.size() == 0) {
            throw new SpecException("data.file", path + ": empty arrays, shapes " + xs + " and " + ys);
        }
        int d = (int) (xs.size() / n);
        int o = (int) (ys.size() / n);
        double[] x = finite(path, "x", d, xa.values());
        double[] y = finite(path, "y", o, ya.values());
        List<String> inputNames = new ArrayList<>(d);
        for (int j = 1; j <= d; j++) {
            inputNames.add("x" + j);
        }
        List<String> targetNames = new ArrayList<>(o);
        if (o == 1) {
            targetNames.add("y");
        } else {
            for (int k = 1; k <= o; k++) {
                targetNames.add("y" + k);
            }
        }
        return new Dataset(x, y, (int) n, d, o, inputNames, targetNames, path.toString());
    }

    private static double[] finite(Path path, String array, int width, double[] values) {
        for (int i = 0; i < values.length; i++) {
            if (!Double.isFinite(values[i])) {
                throw new SpecException("data.file", path + ": array '" + array + "' holds " + values[i]
                        + " in row " + (i / width) + " (rows count from 0)");
            }
        }
        return values;
    }

    // ---------------------------------------------------------------- float32

    /**
     * Inputs, and real-valued targets, must stay finite once cast to float32 (|v| ≤ 3.4e38), or the
     * first loss is infinite and the run is reported as diverged instead of as bad data.
     */
    private static void fitsFloat32(Dataset data, DataSpec spec, boolean classification) {
        String xField = spec.isGenerated() ? "data.domain" : "data.file";
        String yField = spec.isGenerated() ? "data.generator" : "data.file";
        fitsFloat32(data.x(), data.d(), data.inputNames(), data.source(), xField);
        if (!classification) {
            fitsFloat32(data.y(), data.o(), data.targetNames(), data.source(), yField);
        }
    }

    private static void fitsFloat32(double[] v, int width, List<String> names, String source, String field) {
        for (int i = 0; i < v.length; i++) {
            if (Float.isInfinite((float) v[i])) {
                throw new SpecException(field, source + ": column '" + names.get(i % width) + "' holds " + v[i]
                        + " in row " + i / width + " (rows count from 0), beyond the float32 range (±"
                        + Float.MAX_VALUE + "); use dtype: float64, or rescale the data");
            }
        }
    }

    // ---------------------------------------------------------------- labels

    /** Classification needs one target column of non-negative integer class labels. */
    static void checkLabels(Dataset data) {
        if (data.o() != 1) {
            throw new SpecException("data.targets", "classification needs exactly one target column (the class "
                    + "label), found " + data.o() + ": " + String.join(", ", data.targetNames()));
        }
        double[] y = data.y();
        for (int i = 0; i < y.length; i++) {
            double v = y[i];
            if (!(v >= 0 && v == Math.rint(v) && v < Integer.MAX_VALUE)) {
                throw new SpecException("data.targets", "classification targets must be non-negative integer "
                        + "class labels, but '" + data.targetNames().get(0) + "' is " + v + " in row " + i
                        + " (rows count from 0) of " + data.source());
            }
        }
    }
}
