package dev.hesstrain.inspect;

import dev.hesstrain.data.CsvTable;
import dev.hesstrain.data.Npz;
import dev.hesstrain.runs.Npy;
import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.NoSuchFileException;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import java.util.Locale;
import java.util.Map;

/**
 * The points a Hessian is taken at: inputs x (row-major [n, d]) and, for a loss, targets y
 * ([n, o] values for mse, [n] labels for cross_entropy and nll), with where they came from.
 */
public record Points(double[] x, int n, int d, double[] y, String source) {
    /** Whether targets are present. */
    public boolean hasTargets() {
        return y != null;
    }

    /**
     * Reads points from a file: a CSV with a header row (the first d columns are inputs, any t
     * further columns the targets), a .npy array [n, d] (or [n, ...] flattening to d, or one
     * point [d]), or a .npz archive with arrays {@code x} and, optionally, {@code y}.
     *
     * @param d the model's number of inputs
     * @param t target columns per point: the outputs for mse, 1 for a label
     * @param targets whether targets are used (a loss); without, extra CSV columns are refused, not dropped
     */
    public static Points read(Path file, int d, int t, boolean targets) {
        if (!Files.isRegularFile(file)) {
            throw new InspectException("--points: no such file: " + file);
        }
        String name = file.getFileName().toString().toLowerCase(Locale.ROOT);
        Points p;
        if (name.endsWith(".csv")) {
            p = csv(file, d, t, targets);
        } else if (name.endsWith(".npy")) {
            p = npy(file, d);
        } else if (name.endsWith(".npz")) {
            p = npz(file, d, t);
        } else {
            throw new InspectException("--points: unsupported file type '" + file.getFileName()
                    + "'; use .csv (with a header row), .npy [points, " + d + "] or .npz (arrays x and y)");
        }
        check(p.x, file + ": input");
        if (p.y != null) {
            check(p.y, file + ": target");
        }
        return p;
    }

    private static Points csv(Path file, int d, int t, boolean targets) {
        CsvTable table;
        try {
            table = CsvTable.read(file);
        } catch (CsvTable.Problem e) {
            throw new InspectException("--points: " + e.getMessage(), e);
        }
        int columns = table.columns().size();
        if (!targets && columns > d) {
            throw new InspectException("--points: points of wrong width: " + file + " has " + columns + " columns ("
                    + String.join(",", table.columns()) + ") but --of output takes only the model's " + d
                    + " inputs: drop the last " + (columns - d) + " column(s), or use --of loss to take them as targets");
        }
        if (columns != d && columns != d + t) {
            throw new InspectException("--points: points of wrong width: " + file + " has " + columns
                    + " columns (" + String.join(",", table.columns()) + ") but the model takes " + d
                    + " inputs: give " + d + " input columns, or " + (d + t) + " with the "
                    + t + " target column(s) last");
        }
        List<double[]> rows = table.rows();
        int n = rows.size();
        double[] x = new double[n * d];
        double[] y = columns > d ? new double[n * t] : null;
        for (int r = 0; r < n; r++) {
            System.arraycopy(rows.get(r), 0, x, r * d, d);
            if (y != null) {
                System.arraycopy(rows.get(r), d, y, r * t, t);
            }
        }
        return new Points(x, n, d, y, file.toString());
    }

    private static Points npy(Path file, int d) {
        Npy.Array a;
        try {
            a = Npy.read(file);
        } catch (NoSuchFileException e) {
            throw new InspectException("--points: no such file: " + file);
        } catch (IOException e) {
            throw new InspectException("--points: " + e.getMessage(), e);
        }
        long[] shape = a.shape();
        long n = shape.length <= 1 ? 1 : shape[0];
        long width = n == 0 ? 0 : a.size() / n;
        if (shape.length == 0 || width != d) {
            throw new InspectException("--points: points of wrong width: " + file + " holds an array of shape "
                    + java.util.Arrays.toString(shape) + " but the model takes " + d + " inputs per point: expected ["
                    + "points, " + d + "]");
        }
        return new Points(a.values(), (int) n, d, null, file.toString());
    }

    private static Points npz(Path file, int d, int t) {
        Map<String, Npz.Array> arrays;
        try {
            arrays = Npz.read(file);
        } catch (IOException e) {
            throw new InspectException("--points: cannot read " + file + ": " + e.getMessage(), e);
        } catch (RuntimeException e) {
            throw new InspectException("--points: cannot read " + file + " as .npz: " + e.getMessage(), e);
        }
        Npz.Array xa = arrays.get("x");
        Npz.Array ya = arrays.get("y");
        if (xa == null) {
            throw new InspectException("--points: " + file + " must hold an array 'x' (and 'y' for a loss), found "
                    + new ArrayList<>(arrays.keySet()));
        }
        long n = xa.rows();
        if (n == 0 || xa.size() / n != d) {
            throw new InspectException("--points: points of wrong width: 'x' in " + file + " has shape "
                    + xa.shapeString() + " but the model takes " + d + " inputs per point: expected [points, " + d + "]");
        }
        double[] y = null;
        if (ya != null) {
            if (ya.rows() != n || ya.size() != n * t) {
                throw new InspectException("--points: 'y' in " + file + " has shape " + ya.shapeString() + "; expected "
                        + n + " rows of " + t + " target(s), matching 'x'");
            }
            y = ya.values();
        }
        return new Points(xa.values(), (int) n, d, y, file.toString());
    }

    private static void check(double[] values, String what) {
        for (int i = 0; i < values.length; i++) {
            if (!Double.isFinite(values[i])) {
                throw new InspectException("--points: " + what + " value " + i + " is " + values[i]);
            }
        }
    }

    /** Checks class labels: integers in [0, classes). */
    public void checkLabels(int classes) {
        for (int i = 0; i < n; i++) {
            double v = y[i];
            if (!(v >= 0 && v == Math.rint(v) && v < classes)) {
                throw new InspectException("the labels of the points must be integers 0.." + (classes - 1)
                        + " (the model's outputs), but point " + i + " (counting from 0) of " + source + " has " + v);
            }
        }
    }
}
