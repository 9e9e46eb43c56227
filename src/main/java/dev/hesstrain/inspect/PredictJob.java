package dev.hesstrain.inspect;

import ai.djl.ndarray.NDArray;
import ai.djl.ndarray.NDManager;
import ai.djl.ndarray.types.DataType;
import ai.djl.ndarray.types.Shape;
import dev.hesstrain.data.CsvTable;
import dev.hesstrain.hessian.PointHessians;
import dev.hesstrain.model.Network;
import dev.hesstrain.runs.AtomicFiles;
import dev.hesstrain.runs.MetricsCsv;
import dev.hesstrain.runs.Npy;
import java.io.IOException;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.EnumSet;
import java.util.List;
import java.util.Locale;
import java.util.Set;

/**
 * {@code hesstrain predict}: a trained run's model (its spec.yaml and model.safetensors, built as
 * {@code inspect-hessian --run} builds it) applied to new points.
 *
 * <ul>
 *   <li>{@code .npy} out: the raw outputs [N, O] in the model's dtype; with extras, each beside it
 *       as {@code <name>.hessian_fro.npy} [N] and {@code <name>.hessian_trace.npy} [N, O], float64.
 *   <li>{@code .csv} out: a header, the inputs, the outputs ({@code y} or {@code y1..yO}; a
 *       classifier's {@code output_0..} then {@code class} and {@code probability}: the argmax and
 *       its softmax probability), then the extras.
 * </ul>
 *
 * The extras are the input Hessians' norms from the closed form ({@link PointHessians}, the pass
 * {@code inspect-hessian --wrt input} takes): {@code hessian_fro} = sqrt(Σ_o ‖∇²f_o‖_F²), the
 * per-point figure whose mean is metrics.csv's {@code hessian_fro_mean}, and {@code hessian_trace}
 * = tr ∇²f_o per output. Points are read as {@code inspect-hessian --points} reads them, a CSV with
 * or without a header; bad points are {@link InspectException}s naming the file. Every file is
 * written atomically.
 */
public final class PredictJob {
    /** A per-point figure added with {@code --with}. */
    public enum Extra {
        HESSIAN_FRO("hessian-fro"),
        HESSIAN_TRACE("hessian-trace");

        private final String id;

        Extra(String id) {
            this.id = id;
        }

        public String id() {
            return id;
        }

        public static Extra parse(String s) {
            for (Extra e : values()) {
                if (e.id.equals(s.trim().toLowerCase(Locale.ROOT))) {
                    return e;
                }
            }
            throw new InspectException("--with: unknown '" + s + "'; choose from hessian-fro, hessian-trace");
        }
    }

    /** What was written: the files, the number of points and of outputs, and the CSV's columns (else null). */
    public record Result(List<Path> files, int points, int outputs, List<String> columns) {}

    /** Points per forward pass. */
    private static final int CHUNK = 4096;

    private final Path run;
    private final Path points;
    private final Path out;
    private final Set<Extra> extras;

    public PredictJob(Path run, Path points, Path out, Set<Extra> extras) {
        this.run = run;
        this.points = points;
        this.out = out;
        this.extras = extras.isEmpty() ? EnumSet.noneOf(Extra.class) : EnumSet.copyOf(extras);
    }

    public Result run() throws IOException {
        boolean csvOut = extension(out, "--out").equals("csv");
        Subject s = Subject.load(InspectOptions.builder().run(run).build(), Path.of(""));
        try (s) {
            Network net = s.net;
            int d = net.inputs();
            int o = net.outputs();
            Named x = read(d);
            boolean f32 = net.dtype() == DataType.FLOAT32;
            double[] y = forward(net, x.points);
            double[] fro = null;
            double[] trace = null;
            if (!extras.isEmpty()) {
                fro = new double[x.points.n()];
                trace = new double[x.points.n() * o];
                norms(net, x.points, fro, trace);
            }
            if (csvOut) {
                return writeCsv(s, x, y, fro, trace, f32);
            }
            List<Path> files = new ArrayList<>();
            long n = x.points.n();
            if (f32) {
                float[] v = new float[y.length];
                for (int i = 0; i < v.length; i++) {
                    v[i] = (float) y[i];
                }
                try (Npy.Writer w = Npy.open(out, Npy.F4, new long[] {n, o})) {
                    w.write(v);
                }
            } else {
                Npy.write(out, y, new long[] {n, o});
            }
            files.add(out);
            if (extras.contains(Extra.HESSIAN_FRO)) {
                files.add(sibling("hessian_fro"));
                Npy.write(files.get(files.size() - 1), fro, new long[] {n});
            }
            if (extras.contains(Extra.HESSIAN_TRACE)) {
                files.add(sibling("hessian_trace"));
                Npy.write(files.get(files.size() - 1), trace, new long[] {n, o});
            }
            return new Result(files, x.points.n(), o, null);
        }
    }

    /** The points with their input columns' names. */
    private record Named(Points points, List<String> columns) {}

    private Named read(int d) {
        String ext = extension(points, "--points");
        if (!Files.isRegularFile(points)) {
            throw new InspectException("--points: no such file: " + points);
        }
        Points p;
        List<String> names;
        if (ext.equals("csv")) {
            CsvTable t;
            try {
                t = CsvTable.read(points, true);
            } catch (CsvTable.Problem e) {
                throw new InspectException("--points: " + e.getMessage(), e);
            }
            if (t.columns().size() != d) {
                throw new InspectException("--points: points of wrong width: " + points + " has " + t.columns().size()
                        + " columns but the model takes " + d + " inputs");
            }
            double[] v = new double[t.rows().size() * d];
            for (int r = 0; r < t.rows().size(); r++) {
                System.arraycopy(t.rows().get(r), 0, v, r * d, d);
            }
            p = new Points(v, t.rows().size(), d, null, points.toString());
            names = t.columns();
        } else {
            if (isEmptyNpy(points)) {
                throw new InspectException("--points: " + points + " holds no points");
            }
            p = Points.read(points, d, 0, false);
            names = new ArrayList<>();
            for (int j = 1; j <= d; j++) {
                names.add("x" + j);
            }
        }
        if (p.n() == 0) {
            throw new InspectException("--points: " + points + " holds no points");
        }
        for (int i = 0; i < p.x().length; i++) {
            if (!Double.isFinite(p.x()[i])) {
                throw new InspectException("--points: " + points + ": point " + (i / d) + " (counting from 0), input "
                        + (i % d + 1) + " is " + p.x()[i]);
            }
        }
        return new Named(p, names);
    }

    /** Whether a .npy file holds an array with a zero in its shape (Points would call it the wrong width). */
    private static boolean isEmptyNpy(Path file) {
        try {
            return Arrays.stream(Npy.read(file).shape()).anyMatch(v -> v == 0);
        } catch (IOException | RuntimeException e) {
            return false; // Points.read reports it
        }
    }

    /** The outputs [n, O] in float64, in chunks, each in its own manager. */
    private static double[] forward(Network net, Points p) {
        int d = p.d();
        double[] y = new double[p.n() * net.outputs()];
        for (int start = 0; start < p.n(); start += CHUNK) {
            int count = Math.min(CHUNK, p.n() - start);
            try (NDManager step = net.manager().newSubManager()) {
                net.attach(step);
                NDArray x = step.create(Arrays.copyOfRange(p.x(), start * d, (start + count) * d), new Shape(count, d))
                        .toType(net.dtype(), false);
                double[] v = net.forward(x).toType(DataType.FLOAT64, false).toDoubleArray();
                System.arraycopy(v, 0, y, start * net.outputs(), v.length);
            }
        }
        return y;
    }

    /** hessian_fro [n] and hessian_trace [n, O] from the closed form, chunk by chunk. */
    private static void norms(Network net, Points p, double[] fro, double[] trace) {
        int d = p.d();
        int o = net.outputs();
        try (PointHessians ph = new PointHessians(net)) {
            for (int start = 0; start < p.n(); start += ph.chunk()) {
                int count = Math.min(ph.chunk(), p.n() - start);
                try (PointHessians.Points h = ph.at(Arrays.copyOfRange(p.x(), start * d, (start + count) * d), count,
                        null, null)) {
                    double[] f = h.frobenius();
                    double[] t = h.traces();
                    for (int i = 0; i < count; i++) {
                        double ss = 0;
                        for (int q = 0; q < o; q++) {
                            ss += f[i * o + q];
                        }
                        fro[start + i] = Math.sqrt(ss);
                    }
                    System.arraycopy(t, 0, trace, start * o, count * o);
                }
            }
        }
    }

    private Result writeCsv(Subject s, Named x, double[] y, double[] fro, double[] trace, boolean f32) throws IOException {
        int n = x.points.n();
        int d = x.points.d();
        int o = s.net.outputs();
        boolean classes = s.spec.isClassification();
        List<String> outputs = new ArrayList<>();
        for (int q = 0; q < o; q++) {
            outputs.add(classes ? "output_" + q : o == 1 ? "y" : "y" + (q + 1));
        }
        List<String> columns = new ArrayList<>(x.columns);
        columns.addAll(outputs);
        if (classes) {
            columns.addAll(List.of("class", "probability"));
        }
        if (fro != null && extras.contains(Extra.HESSIAN_FRO)) {
            columns.add("hessian_fro");
        }
        if (trace != null && extras.contains(Extra.HESSIAN_TRACE)) {
            for (String name : outputs) {
                columns.add(o == 1 ? "hessian_trace" : "hessian_trace_" + name);
            }
        }
        if (columns.size() != new java.util.HashSet<>(columns).size()) {
            throw new InspectException("--points: the columns of " + points + " (" + String.join(",", x.columns)
                    + ") clash with the output columns " + columns.subList(x.columns.size(), columns.size()));
        }
        // a float32 model's figures as floats (0.07164003, not 0.07164002954959869)
        java.util.function.DoubleFunction<String> fmt = v -> f32 ? MetricsCsv.format((float) v) : MetricsCsv.format(v);
        StringBuilder text = new StringBuilder(String.join(",", columns)).append('\n');
        for (int i = 0; i < n; i++) {
            for (int j = 0; j < d; j++) {
                text.append(MetricsCsv.format(x.points.x()[i * d + j])).append(',');
            }
            int best = 0;
            for (int q = 0; q < o; q++) {
                double v = y[i * o + q];
                text.append(fmt.apply(v));
                text.append(q < o - 1 ? "," : "");
                if (v > y[i * o + best]) {
                    best = q;
                }
            }
            if (classes) {
                double sum = 0;
                for (int q = 0; q < o; q++) {
                    sum += Math.exp(y[i * o + q] - y[i * o + best]);
                }
                text.append(',').append(best).append(',').append(fmt.apply(1 / sum));
            }
            if (extras.contains(Extra.HESSIAN_FRO)) {
                text.append(',').append(fmt.apply(fro[i]));
            }
            if (extras.contains(Extra.HESSIAN_TRACE)) {
                for (int q = 0; q < o; q++) {
                    text.append(',').append(fmt.apply(trace[i * o + q]));
                }
            }
            text.append('\n');
        }
        AtomicFiles.write(out, text.toString().getBytes(StandardCharsets.UTF_8));
        return new Result(List.of(out), n, o, columns);
    }

    /** {@code out}'s name with {@code .<what>.npy} for its {@code .npy}. */
    private Path sibling(String what) {
        String name = out.getFileName().toString();
        return out.resolveSibling(name.substring(0, name.length() - ".npy".length()) + "." + what + ".npy");
    }

    private static String extension(Path file, String option) {
        String name = file.getFileName().toString().toLowerCase(Locale.ROOT);
        String ext = name.endsWith(".csv") ? "csv" : name.endsWith(".npy") ? "npy" : name.endsWith(".npz") ? "npz" : "";
        if (ext.isEmpty() || option.equals("--out") && ext.equals("npz")) {
            throw new InspectException(option + ": " + file + ": use a .csv or .npy file"
                    + (option.equals("--points") ? " (or an .npz holding an array x)" : ""));
        }
        return ext;
    }
}
