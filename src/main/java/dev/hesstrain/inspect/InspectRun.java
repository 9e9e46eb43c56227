package dev.hesstrain.inspect;

import static dev.hesstrain.inspect.InspectJob.DENSITY;
import static dev.hesstrain.inspect.InspectJob.DENSITY_GRID;
import static dev.hesstrain.inspect.InspectJob.DENSITY_PLOT;
import static dev.hesstrain.inspect.InspectJob.DENSITY_STEPS;
import static dev.hesstrain.inspect.InspectJob.SUMMARY;

import ai.djl.engine.Engine;
import dev.hesstrain.inspect.Choice.Quantity;
import dev.hesstrain.data.Dataset;
import dev.hesstrain.hessian.PointHessians;
import dev.hesstrain.hessian.SpectralDensity;
import dev.hesstrain.model.Network;
import dev.hesstrain.runs.AtomicFiles;
import dev.hesstrain.runs.Npy;
import dev.hesstrain.runs.Plots;
import dev.hesstrain.runs.Provenance;
import dev.hesstrain.spec.LossKind;
import dev.hesstrain.spec.SpecLoader;
import java.io.IOException;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Locale;
import java.util.Map;

/** One inspection's execution, with its state, and what both of its parts share. */
final class InspectRun {
    final InspectOptions o;
    final Subject s;
    final Network net;
    final Points points;
    final LossKind loss;
    final InspectJob.Progress progress;
    final Map<String, Object> summary = new LinkedHashMap<>();
    final Map<String, Map<String, Object>> quantities = new LinkedHashMap<>();
    final List<String> files = new ArrayList<>();
    final Map<String, Object> timings = new LinkedHashMap<>();
    double[] vector;
    private final java.util.function.BooleanSupplier stop;
    /** What is being computed now, for the message of an interruption. */
    volatile String doing = "loading";
    private final long started = System.nanoTime();

    InspectRun(InspectOptions o, Subject s, Points points, LossKind loss, InspectJob.Progress progress,
            java.util.function.BooleanSupplier stop) {
        this.stop = stop;
        this.o = o;
        this.s = s;
        this.net = s.net;
        this.points = points;
        this.loss = loss;
        this.progress = progress;
    }

    /** Throws {@link InspectJob.Interrupted} once a stop was requested; called between products and row batches. */
    void checkStop() {
        if (stop.getAsBoolean()) {
            throw new InspectJob.Interrupted(String.format(Locale.ROOT, "stopped %s after %.1f s; its partial files "
                    + "were removed%s, and no summary.json was written", doing, seconds(started), files.isEmpty() ? ""
                    : " (complete before it: " + String.join(", ", files) + ")"));
        }
    }

    /**
     * {@code op}, checking for a stop request before every multiply and row block, and reporting
     * the rows of a long row-by-row quantity (full, diag) every 10 s.
     */
    dev.hesstrain.hessian.SymmetricOperator watched(dev.hesstrain.hessian.SymmetricOperator op) {
        return new Watched(op);
    }

    private final class Watched implements dev.hesstrain.hessian.SymmetricOperator {
        private final dev.hesstrain.hessian.SymmetricOperator op;
        private final java.util.concurrent.atomic.AtomicLong rowsDone = new java.util.concurrent.atomic.AtomicLong();
        private long started = System.nanoTime();
        private long lastReport = started;
        private String reportedFor;

        Watched(dev.hesstrain.hessian.SymmetricOperator op) {
            this.op = op;
        }

        @Override
        public int batch() {
            return op.batch();
        }

        @Override
        public int dim() {
            return op.dim();
        }

        @Override
        public int blockSize() {
            return op.blockSize();
        }

        @Override
        public int lanes() {
            return op.lanes();
        }

        @Override
        public int rowBlock(int start) {
            return op.rowBlock(start);
        }

        @Override
        public ai.djl.ndarray.NDManager manager() {
            return op.manager();
        }

        @Override
        public ai.djl.ndarray.NDArray multiply(ai.djl.ndarray.NDArray block) {
            checkStop();
            return op.multiply(block);
        }

        @Override
        public ai.djl.ndarray.NDArray rows(int lane, int start, int count, ai.djl.ndarray.NDManager into) {
            checkStop();
            ai.djl.ndarray.NDArray rows = op.rows(lane, start, count, into);
            long finished = rowsDone.addAndGet(count);
            if (op.batch() == 1) {
                synchronized (this) {
                    long now = System.nanoTime();
                    if (!doing.equals(reportedFor)) { // a new quantity starts its own count
                        reportedFor = doing;
                        rowsDone.set(count);
                        finished = count;
                        started = now;
                        lastReport = now;
                    }
                    if (now - lastReport > 10_000_000_000L) {
                        lastReport = now;
                        double el = (now - started) / 1e9;
                        progress.line(String.format(Locale.ROOT, "%s: %d / %d rows (%.0f%%), %.1f s, about %.0f s left",
                                doing, finished, op.dim(), 100.0 * finished / op.dim(), el,
                                el / finished * (op.dim() - finished)));
                    }
                }
            }
            return rows;
        }

        @Override
        public long products() {
            return op.products();
        }
    }

    /** Marks the start of a quantity: for the message of an interruption, and a stop check. */
    void doing(String what) {
        doing = what;
        checkStop();
    }

    boolean params() {
        return o.wrt() == Choice.Wrt.PARAMS;
    }

    /** Refuses up front what would not fit on disk or in memory. */
    void check() throws IOException {
        if (o.vector() != null) {
            int dim = params() ? (int) net.parameterCount() : net.inputs();
            vector = readVector(o.vector(), dim, params() ? "the parameter Hessian is " + dim + " x " + dim
                    : "the input Hessians are " + dim + " x " + dim);
        }
        Path where = o.out() != null ? o.out() : s.runDir != null ? s.runDir : o.runsRoot();
        long usable = Budget.usableSpace(where);
        long heap = Budget.availableHeap();
        if (params()) {
            long p = net.parameterCount();
            if (o.wants(Quantity.FULL)) {
                long rows = o.rows() == null ? p : Math.min(o.rows(), p);
                boolean f64 = net.dtype() == ai.djl.ndarray.types.DataType.FLOAT64;
                Budget.disk(String.format(Locale.ROOT, "the full Hessian (%d x %d %s)", rows, p, f64 ? "float64"
                        : "float32"), rows * p * (f64 ? Double.BYTES : Float.BYTES) + 128, usable, where);
            }
            if (o.wants(Quantity.EIGS)) {
                long steps = eigSteps(p);
                if (steps >= p) {
                    // as many steps as the dimension: the matrix is formed and decomposed densely instead
                    Budget.heap(String.format(Locale.ROOT, "eigs (the dense %d x %d float64 matrix, its eigenvectors "
                            + "and EJML's copy)", p, p), 3 * p * p * Double.BYTES, heap);
                }
                // the Lanczos basis lives on the engine, the Ritz vectors in the heap
                Budget.memory(String.format(Locale.ROOT, "eigs (a Lanczos basis of %d vectors of %d float64 on the engine)",
                        steps + 1, p), (steps + 1) * p * Double.BYTES, Budget.availableMemory(), "fewer --steps");
                Budget.heap(String.format(Locale.ROOT, "eigs (%d Ritz vectors of %d float64)", o.k(), p),
                        (o.k() + 2L) * p * Double.BYTES, heap);
                if (o.eigenvectors()) {
                    Budget.disk("the eigenvectors", (long) o.k() * p * Double.BYTES, usable, where);
                }
            }
            if (o.wants(Quantity.DENSITY)) {
                Budget.memory(String.format(Locale.ROOT, "density (a Lanczos basis of %d vectors of %d float64 on the "
                        + "engine)", densitySteps(p) + 1, p), (densitySteps(p) + 1L) * p * Double.BYTES,
                        Budget.availableMemory(), "fewer --steps");
            }
        } else {
            long d = net.inputs();
            long m = loss == null ? net.outputs() : 1;
            long matrices = (long) points.n() * m;
            if (o.wants(Quantity.FULL)) {
                Budget.disk(String.format(Locale.ROOT, "the input Hessians (%d x %d x %d x %d float64)", points.n(), m,
                        d, d), matrices * d * d * Double.BYTES + 128, usable, where);
            }
            // a chunk of points' Hessians is held three times in the heap (the Taylor pass's result, the loss
            // composition, the dense copy for eigs and density) and once by the engine (the operator); the
            // per-point results (diag, row sums, products, eigenvalues and vectors) for all points at once
            long chunk = Math.min(points.n(), PointHessians.chunk(net));
            long perChunk = chunk * m * d * d * Double.BYTES;
            long results = matrices * Double.BYTES * (3 * d + 1 + Math.min(o.k(), d) * (o.eigenvectors() ? d + 1 : 1));
            Budget.heap(String.format(Locale.ROOT, "the input Hessians of %d point(s) at a time (%d x %d x %d x %d "
                    + "float64) and the per-point results", chunk, chunk, m, d, d), 3 * perChunk + results, heap);
            Budget.memory(String.format(Locale.ROOT, "the input Hessians of %d point(s) on the engine (%d x %d x %d x %d "
                    + "float64)", chunk, chunk, m, d, d), 2 * perChunk, Budget.availableMemory());
            if (o.wants(Quantity.EIGS) && o.eigenvectors()) {
                Budget.disk("the eigenvectors", matrices * Math.min(o.k(), d) * d * Double.BYTES, usable, where);
            }
        }
    }

    int eigSteps(long dim) {
        long dflt = Math.max(100, 4L * o.k() + 20);
        return (int) Math.min(dim, o.steps() != null ? o.steps() : dflt);
    }

    int densitySteps(long dim) {
        return (int) Math.min(dim, o.steps() != null ? o.steps() : DENSITY_STEPS);
    }

    Map<String, Object> execute(Path dir, double loadSeconds) throws IOException {
        summary.put("name", s.name());
        summary.put("source", source());
        summary.put("wrt", o.wrt().id());
        summary.put("of", o.of().id());
        summary.put("loss", loss == null ? null : loss.id());
        summary.put("points", points.n());
        summary.put("points_source", points.source());
        timings.put("load_seconds", loadSeconds);
        if (params()) {
            new ParamsInspection(this, dir).run();
        } else {
            new InputInspection(this, dir).run();
        }
        summary.put("quantities", quantities);
        summary.put("files", files);
        summary.put("timings", timings);
        summary.put("provenance", Provenance.of(Engine.getDjlVersion(), Engine.getInstance().getVersion(), s.device,
                o.seed(), SpecLoader.hash(s.spec), sha(points)));
        files.add(SUMMARY);
        return summary;
    }

    private Map<String, Object> source() {
        Map<String, Object> m = new LinkedHashMap<>();
        m.put(s.runDir != null ? "run" : "config", s.runDir != null ? s.runDir.toString() : o.config().toString());
        m.put("spec", s.specSource);
        m.put("weights", s.weights == null ? "initialised from the spec's seed, as train does" : s.weights.toString());
        if (!o.overrides().isEmpty()) {
            m.put("overrides", o.overrides());
        }
        return m;
    }

    Map<String, Object> quantity(String name, String method, long products, double seconds) {
        checkStop();
        Map<String, Object> q = new LinkedHashMap<>();
        q.put("method", method);
        q.put("hvps", products);
        q.put("seconds", seconds);
        quantities.put(name, q);
        return q;
    }

    static void writeDensity(InspectRun r, Path dir, SpectralDensity.Quadrature quad, double sigma) throws IOException {
        double[][] curve = quad.curve(DENSITY_GRID, sigma);
        StringBuilder csv = new StringBuilder("grid,density\n");
        for (int i = 0; i < curve[0].length; i++) {
            csv.append(curve[0][i]).append(',').append(curve[1][i]).append('\n');
        }
        AtomicFiles.writeString(dir.resolve(DENSITY), csv.toString());
        r.files.add(DENSITY);
        // the plot shows eight decades below the peak; the CSV keeps every value
        double peak = Arrays.stream(curve[1]).max().orElse(0);
        double[] shown = Arrays.stream(curve[1]).map(v -> Math.max(v, peak * 1e-8)).toArray();
        LinkedHashMap<String, double[]> series = new LinkedHashMap<>();
        series.put("density", shown);
        Plots.lineChart(dir.resolve(DENSITY_PLOT), r.s.name() + ": Hessian spectral density (sigma "
                + String.format(Locale.ROOT, "%.3g", sigma) + ")", "eigenvalue", "density", true, curve[0], series);
        r.files.add(DENSITY_PLOT);
    }

    static double[] readVector(Path file, int dim, String why) {
        Npy.Array a;
        try {
            a = Npy.read(file);
        } catch (IOException e) {
            throw new InspectException("--vector: " + e.getMessage(), e);
        }
        if (a.size() != dim || (a.shape().length == 2 && a.shape()[0] != 1) || a.shape().length > 2) {
            throw new InspectException("--vector: " + file + " holds an array of shape " + Arrays.toString(a.shape())
                    + " (" + a.size() + " values) but " + why + ": expected [" + dim + "]");
        }
        for (double v : a.values()) {
            if (!Double.isFinite(v)) {
                throw new InspectException("--vector: " + file + " holds " + v);
            }
        }
        return a.values();
    }

    static double seconds(long t0) {
        return (System.nanoTime() - t0) / 1e9;
    }

    static double sum(double[] a) {
        double s = 0;
        for (double v : a) {
            s += v;
        }
        return s;
    }

    /** SHA-256 of the points' shape, inputs and targets, hashed as datasets are ({@link Dataset#sha256}). */
    static String sha(Points p) {
        double[] y = p.y() == null ? new double[0] : p.y();
        return Dataset.sha256(new long[] {p.n(), p.d(), y.length}, p.x(), y);
    }
}
