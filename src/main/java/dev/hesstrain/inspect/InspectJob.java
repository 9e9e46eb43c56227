package dev.hesstrain.inspect;

import ai.djl.engine.Engine;
import dev.hesstrain.data.Dataset;
import dev.hesstrain.hessian.Hutchinson;
import dev.hesstrain.hessian.Lanczos;
import dev.hesstrain.hessian.ParamHessian;
import dev.hesstrain.hessian.PointHessians;
import dev.hesstrain.hessian.SpectralDensity;
import dev.hesstrain.hessian.SymmetricEigen;
import dev.hesstrain.model.Layer;
import dev.hesstrain.model.Network;
import dev.hesstrain.runs.AtomicFiles;
import dev.hesstrain.runs.Json;
import dev.hesstrain.runs.Npy;
import dev.hesstrain.runs.Plots;
import dev.hesstrain.runs.Provenance;
import dev.hesstrain.runs.RunDirectory;
import dev.hesstrain.spec.SpecLoader;
import java.io.IOException;
import java.nio.FloatBuffer;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Locale;
import java.util.Map;
import java.util.SplittableRandom;
import java.util.function.UnaryOperator;

/**
 * One inspection: loads the model and the points, checks that the outputs fit, computes the
 * quantities asked for, and writes the output directory (arrays as .npy, layout.json,
 * summary.json, plots). The full parameter Hessian is streamed to hessian.npy row by row and never
 * held in memory.
 */
public final class InspectJob {
    /** Where progress lines go (stderr for the command). */
    public interface Progress {
        void line(String text);
    }

    /** The result: the output directory and the summary written there. */
    public record Outcome(Path dir, Map<String, Object> summary) {}

    public static final String HESSIAN = "hessian.npy";
    public static final String DIAG = "diag.npy";
    public static final String ROWSUM = "rowsum.npy";
    public static final String HVP = "hvp.npy";
    public static final String EIGENVALUES = "eigenvalues.npy";
    public static final String EIGENVECTORS = "eigenvectors.npy";
    public static final String DENSITY = "density.csv";
    public static final String LAYOUT = "layout.json";
    public static final String SUMMARY = "summary.json";
    public static final String HESSIAN_PLOT = "hessian.png";
    public static final String EIGENVALUES_PLOT = "eigenvalues.png";
    public static final String DENSITY_PLOT = "density.png";

    /** Relative residual at which Lanczos stops. */
    static final double LANCZOS_TOL = 1e-6;
    /** Lanczos steps per SLQ probe by default. */
    static final int DENSITY_STEPS = 80;
    /** Grid points of the density curve. */
    static final int DENSITY_GRID = 1000;
    /** Heap share the Lanczos bases of SLQ may take. */
    static final double BASIS_SHARE = 0.25;

    private final InspectOptions options;
    private final Path baseDir;

    /**
     * @param options the options as given (validated by {@link #run})
     * @param baseDir the directory relative data paths of a spec are resolved against
     */
    public InspectJob(InspectOptions options, Path baseDir) {
        this.options = options;
        this.baseDir = baseDir;
    }

    /** Runs the inspection; user errors are {@link InspectException}s or spec exceptions. */
    public Outcome run(Progress progress) throws IOException {
        InspectOptions o = options.validate();
        long t0 = System.nanoTime();
        try (Subject s = Subject.load(o, baseDir)) {
            Points points = points(o, s);
            Network net = s.net;
            String loss = o.of().equals("loss") ? s.spec.loss() : null;
            if (loss != null) {
                if (!points.hasTargets()) {
                    throw new InspectException("--of loss needs targets for the points, but " + points.source() + " has none: "
                            + "give a CSV with the target column(s) last, an .npz with 'y', or use --of output");
                }
                if (s.spec.isClassification()) {
                    points.checkLabels(net.outputs());
                }
            }
            if (o.wrt().equals("params") && loss == null && net.outputs() != 1) {
                throw new InspectException("--of output --wrt params needs a model with one output, but " + s.name()
                        + " has " + net.outputs() + ": use --of loss, or --wrt input for the Hessian of every output");
            }
            Run run = new Run(o, s, points, loss, progress);
            run.check();
            RunDirectory dir = outputDir(o, s);
            progress.line(String.format(Locale.ROOT, "inspect-hessian %s: %s Hessian w.r.t. %s, %d point(s), into %s",
                    s.name(), loss == null ? "output" : loss + " loss", o.wrt().equals("params")
                            ? net.parameterCount() + " parameters" : "the " + net.inputs() + " inputs",
                    points.n(), dir.path()));
            Map<String, Object> summary = run.execute(dir.path(), (System.nanoTime() - t0) / 1e9);
            Json.write(dir.file(SUMMARY), summary);
            return new Outcome(dir.path(), summary);
        }
    }

    private static Points points(InspectOptions o, Subject s) {
        int d = s.net.inputs();
        int t = s.spec.isClassification() ? 1 : s.net.outputs();
        Points p;
        if (o.points() != null) {
            p = Points.read(o.points(), d, t);
        } else if (o.samples() != null) {
            p = s.samples(o.samples(), o.seed());
        } else {
            p = s.training;
        }
        if (p.d() != d) {
            throw new InspectException("points of wrong width: " + p.source() + " has " + p.d()
                    + " inputs per point but the model takes " + d);
        }
        return p;
    }

    private static RunDirectory outputDir(InspectOptions o, Subject s) {
        try {
            if (o.out() != null) {
                return RunDirectory.create(null, null, o.out());
            }
            if (s.runDir != null) {
                return RunDirectory.create(s.runDir.resolve(RunDirectory.INSPECT), o.wrt() + "-" + o.of(), null);
            }
            return RunDirectory.create(o.runsRoot(), "inspect-" + s.name(), null);
        } catch (IOException e) {
            throw new InspectException("--out: " + e.getMessage(), e);
        }
    }

    /** One execution, with its state. */
    private static final class Run {
        final InspectOptions o;
        final Subject s;
        final Network net;
        final Points points;
        final String loss;
        final Progress progress;
        final Map<String, Object> summary = new LinkedHashMap<>();
        final Map<String, Object> quantities = new LinkedHashMap<>();
        final List<String> files = new ArrayList<>();
        final Map<String, Object> timings = new LinkedHashMap<>();
        double[] vector;

        Run(InspectOptions o, Subject s, Points points, String loss, Progress progress) {
            this.o = o;
            this.s = s;
            this.net = s.net;
            this.points = points;
            this.loss = loss;
            this.progress = progress;
        }

        boolean params() {
            return o.wrt().equals("params");
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
                if (o.wants("full")) {
                    long rows = o.rows() == null ? p : Math.min(o.rows(), p);
                    Budget.disk(String.format(Locale.ROOT, "the full Hessian (%d x %d float32)", rows, p),
                            rows * p * Float.BYTES + 128, usable, where);
                }
                if (o.wants("eigs")) {
                    long steps = eigSteps(p);
                    Budget.heap(String.format(Locale.ROOT, "eigs (a Lanczos basis of %d vectors of %d float64)", steps, p),
                            (steps + o.k() + 2) * p * Double.BYTES, heap);
                    if (o.eigenvectors()) {
                        Budget.disk("the eigenvectors", (long) o.k() * p * Double.BYTES, usable, where);
                    }
                }
                if (o.wants("density")) {
                    Budget.heap(String.format(Locale.ROOT, "density (a Lanczos basis of %d vectors of %d float64)",
                            densitySteps(p), p), (densitySteps(p) + 2) * p * Double.BYTES, heap);
                }
            } else {
                long d = net.inputs();
                long m = loss == null ? net.outputs() : 1;
                long matrices = (long) points.n() * m;
                if (o.wants("full")) {
                    Budget.disk(String.format(Locale.ROOT, "the input Hessians (%d x %d x %d x %d float64)", points.n(), m,
                            d, d), matrices * d * d * Double.BYTES + 128, usable, where);
                }
                Budget.heap(String.format(Locale.ROOT, "the input Hessians of one point (%d x %d x %d float64)", m, d, d),
                        3 * m * d * d * Double.BYTES, heap);
                if (o.wants("eigs") && o.eigenvectors()) {
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
            summary.put("wrt", o.wrt());
            summary.put("of", o.of());
            summary.put("loss", loss);
            summary.put("points", points.n());
            summary.put("points_source", points.source());
            timings.put("load_seconds", loadSeconds);
            if (params()) {
                new ParamsPart(this, dir).run();
            } else {
                new InputPart(this, dir).run();
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
            Map<String, Object> q = new LinkedHashMap<>();
            q.put("method", method);
            q.put("hvps", products);
            q.put("seconds", seconds);
            quantities.put(name, q);
            return q;
        }
    }

    // ---- parameters --------------------------------------------------------------------------

    /** Hessians of the loss (or the single output) with respect to all parameters. */
    private static final class ParamsPart {
        final Run r;
        final Path dir;
        final int p;
        ParamHessian batched;
        ParamHessian single;
        final List<ParamHessian> extraWorkers = new ArrayList<>();
        double[] diag;
        double frobenius = Double.NaN;

        ParamsPart(Run r, Path dir) {
            this.r = r;
            this.dir = dir;
            this.p = (int) r.net.parameterCount();
        }

        /**
         * Replicas per backward pass: enough to share its fixed cost, few enough that a pass's
         * activations (K replicas x points x the widest layer) stay about the size of a core's cache,
         * which measured fastest (K = 4 to 8 for conv12; 64 took 0.3-0.45 ms a row against 0.17).
         */
        int autoBatch() {
            long perReplica = Math.max(1, widest(r.net) * r.points.n() * 4L);
            long byCache = (1L << 20) / perReplica;
            long byParams = (64L << 20) / ((long) p * Double.BYTES);
            return (int) Math.max(1, Math.min(64, Math.min(byParams, byCache)));
        }

        ParamHessian batched() {
            if (batched == null) {
                int k = r.o.hvpBatch() != null ? r.o.hvpBatch() : autoBatch();
                long t0 = System.nanoTime();
                batched = new ParamHessian(r.net, r.s.spec.model(), r.points.x(), r.points.n(), r.points.y(), r.loss, k);
                r.timings.put("graph_seconds_" + batched.replicas(), (System.nanoTime() - t0) / 1e9);
            }
            return batched;
        }

        ParamHessian single() {
            if (single == null) {
                if (batched != null && batched.replicas() == 1) {
                    single = batched;
                } else {
                    long t0 = System.nanoTime();
                    single = new ParamHessian(r.net, r.s.spec.model(), r.points.x(), r.points.n(), r.points.y(), r.loss, 1);
                    r.timings.put("graph_seconds_1", (System.nanoTime() - t0) / 1e9);
                }
            }
            return single;
        }

        long products() {
            long n = (batched == null ? 0 : batched.products()) + (single == null || single == batched ? 0 : single.products());
            for (ParamHessian w : extraWorkers) {
                n += w.products();
            }
            return n;
        }

        /** The graphs that compute rows in parallel: the batched one and, when replicated, one more per thread. */
        List<ParamHessian> workers() {
            ParamHessian first = batched();
            int n = first.replicated() ? r.o.threads() : 1;
            while (1 + extraWorkers.size() < n) {
                long t0 = System.nanoTime();
                extraWorkers.add(new ParamHessian(r.net, r.s.spec.model(), r.points.x(), r.points.n(), r.points.y(), r.loss,
                        first.replicas()));
                r.timings.merge("graph_seconds_" + first.replicas(), (System.nanoTime() - t0) / 1e9,
                        (a, b) -> (Double) a + (Double) b);
            }
            List<ParamHessian> all = new ArrayList<>();
            all.add(first);
            all.addAll(extraWorkers);
            return all;
        }

        interface BatchTask {
            void run(ParamHessian h, int start, int count) throws IOException;
        }

        /**
         * Runs the row batches of rows 0..rows-1 on the workers in parallel, each PyTorch op on one
         * thread (the workers are the parallelism); returns the seconds the workers spent in it, summed.
         */
        double parallelRows(int rows, String what, BatchTask task) throws IOException {
            List<ParamHessian> hs = workers();
            List<int[]> batches = new ArrayList<>();
            for (int start = 0, count; start < rows; start += count) {
                count = Math.min(hs.get(0).batch(start), rows - start);
                batches.add(new int[] {start, count});
            }
            java.util.concurrent.atomic.AtomicInteger next = new java.util.concurrent.atomic.AtomicInteger();
            java.util.concurrent.atomic.AtomicInteger done = new java.util.concurrent.atomic.AtomicInteger();
            java.util.concurrent.atomic.AtomicLong busy = new java.util.concurrent.atomic.AtomicLong();
            long t0 = System.nanoTime();
            long[] lastReport = {t0};
            List<java.util.concurrent.Callable<Void>> loops = new ArrayList<>();
            for (ParamHessian h : hs) {
                loops.add(() -> {
                    for (int i; (i = next.getAndIncrement()) < batches.size(); ) {
                        int[] b = batches.get(i);
                        long tb = System.nanoTime();
                        task.run(h, b[0], b[1]);
                        busy.addAndGet(System.nanoTime() - tb);
                        int finished = done.addAndGet(b[1]);
                        synchronized (lastReport) {
                            long now = System.nanoTime();
                            if (now - lastReport[0] > 10_000_000_000L) {
                                lastReport[0] = now;
                                double el = (now - t0) / 1e9;
                                r.progress.line(String.format(Locale.ROOT, "%s: %d / %d rows (%.0f%%), %.1f s, about %.0f s left",
                                        what, finished, rows, 100.0 * finished / rows, el, el / finished * (rows - finished)));
                            }
                        }
                    }
                    return null;
                });
            }
            if (hs.size() == 1) {
                try {
                    loops.get(0).call();
                } catch (IOException | RuntimeException e) {
                    throw e;
                } catch (Exception e) {
                    throw new IllegalStateException(e);
                }
                return busy.get() / 1e9;
            }
            int threads = ai.djl.pytorch.jni.JniUtils.getNumThreads();
            ai.djl.pytorch.jni.JniUtils.setNumThreads(1);
            java.util.concurrent.ExecutorService pool = java.util.concurrent.Executors.newFixedThreadPool(hs.size(), run -> {
                Thread t = new Thread(run, "hessian-rows");
                t.setDaemon(true);
                return t;
            });
            try {
                List<java.util.concurrent.Future<Void>> futures = new ArrayList<>();
                for (java.util.concurrent.Callable<Void> l : loops) {
                    futures.add(pool.submit(l));
                }
                for (java.util.concurrent.Future<Void> f : futures) {
                    try {
                        f.get();
                    } catch (java.util.concurrent.ExecutionException e) {
                        next.set(batches.size());
                        Throwable c = e.getCause();
                        if (c instanceof IOException io) {
                            throw io;
                        }
                        if (c instanceof RuntimeException re) {
                            throw re;
                        }
                        throw new IllegalStateException(c);
                    } catch (InterruptedException e) {
                        Thread.currentThread().interrupt();
                        throw new IOException("interrupted", e);
                    }
                }
            } finally {
                pool.shutdownNow();
                ai.djl.pytorch.jni.JniUtils.setNumThreads(threads);
            }
            return busy.get() / 1e9;
        }

        String rowsMethod(ParamHessian h) {
            return h.replicated()
                    ? "reverse-over-reverse: one backward pass through the gradient graph per " + h.replicas()
                            + " rows, the network evaluated on " + h.replicas() + " replicas of its parameters"
                    : "reverse-over-reverse: one backward pass through the gradient graph per row";
        }

        void run() throws IOException {
            writeLayout();
            ParamHessian any = r.o.wants("full") || r.o.wants("diag") || r.o.wants("trace") || r.o.wants("density")
                    ? batched() : single();
            r.summary.put("dimension", p);
            r.summary.put("value", any.value());
            double[] g = any.gradient();
            r.summary.put("gradient_norm", Math.sqrt(dot(g, g)));
            r.summary.put("hvp_batch", batched == null ? 1 : batched.replicas());
            if (r.o.wants("full")) {
                full();
            }
            if (r.o.wants("diag") || r.o.wants("trace")) {
                diagonal();
            }
            if (r.o.wants("rowsum")) {
                long t0 = System.nanoTime();
                long before = products();
                double[] ones = new double[p];
                Arrays.fill(ones, 1);
                double[] rs = single().hvp(ones);
                Npy.write(dir.resolve(ROWSUM), rs, new long[] {p});
                r.files.add(ROWSUM);
                Map<String, Object> q = r.quantity("rowsum", "one Hessian-vector product H·1", products() - before,
                        seconds(t0));
                q.put("sum", sum(rs));
            }
            if (r.o.wants("hvp")) {
                double[] v = r.vector;
                long t0 = System.nanoTime();
                long before = products();
                double[] hv = single().hvp(v);
                Npy.write(dir.resolve(HVP), hv, new long[] {p});
                r.files.add(HVP);
                Map<String, Object> q = r.quantity("hvp", "one Hessian-vector product H·v, v from " + r.o.vector(),
                        products() - before, seconds(t0));
                q.put("norm", Math.sqrt(dot(hv, hv)));
                q.put("v_dot_hv", dot(v, hv));
            }
            if (r.o.wants("trace")) {
                trace();
            }
            if (r.o.wants("eigs")) {
                eigs();
            }
            if (r.o.wants("density")) {
                density();
            }
            r.summary.put("frobenius_norm", frobenius);
            r.summary.put("hvps", products());
            if (batched != null) {
                batched.close();
            }
            if (single != null && single != batched) {
                single.close();
            }
            for (ParamHessian w : extraWorkers) {
                w.close();
            }
        }

        void writeLayout() throws IOException {
            List<Map<String, Object>> blocks = new ArrayList<>();
            for (ParamHessian.Block b : ParamHessian.layout(r.net)) {
                Map<String, Object> m = new LinkedHashMap<>();
                m.put("name", b.name());
                m.put("shape", b.shape());
                m.put("offset", b.offset());
                m.put("size", b.size());
                blocks.add(m);
            }
            Map<String, Object> layout = new LinkedHashMap<>();
            layout.put("parameters", p);
            layout.put("order", "torch.nn.Sequential named_parameters() order; each block flattened row-major");
            layout.put("blocks", blocks);
            Json.write(dir.resolve(LAYOUT), layout);
            r.files.add(LAYOUT);
        }

        int[] boundaries() {
            return ParamHessian.layout(r.net).stream().mapToInt(b -> (int) b.offset()).filter(v -> v > 0).toArray();
        }

        void full() throws IOException {
            ParamHessian h = batched();
            int rows = r.o.rows() == null ? p : Math.min(r.o.rows(), p);
            int k = h.replicas();
            double[] d = new double[rows];
            // each worker folds its rows into its own sums and heatmap while they are in its cache
            record Stats(PooledMatrix pooled, double[] squares) {}
            List<Stats> partial = java.util.Collections.synchronizedList(new ArrayList<>());
            ThreadLocal<Stats> mine = ThreadLocal.withInitial(() -> {
                Stats st = new Stats(new PooledMatrix(rows, p, 1000), new double[1]);
                partial.add(st);
                return st;
            });
            int workers = workers().size(); // graphs are built before the clock starts
            long before = products();
            long t0 = System.nanoTime();
            Path file = dir.resolve(HESSIAN);
            double[] streamSeconds;
            double busy;
            // one worker: a writer thread overlaps writing with computing; several: each writes its own rows
            try (RowStream out = new RowStream(file, rows, p, k, 2 * workers + 1, (first, count, values) -> { },
                    workers == 1)) {
                busy = parallelRows(rows, "full", (hw, start, count) -> {
                    RowStream.Buffer buf = out.take();
                    FloatBuffer values = buf.floats();
                    hw.rows(start, count, values);
                    Stats st = mine.get();
                    for (int c = 0; c < count; c++) {
                        st.squares()[0] += st.pooled().add(start + c, values, c * p, p);
                        d[start + c] = values.get(c * p + start + c);
                    }
                    out.submit(buf, start, count);
                });
                out.close();
                streamSeconds = out.seconds();
            }
            PooledMatrix pooled = partial.get(0).pooled();
            double squares = 0;
            for (Stats st : partial) {
                squares += st.squares()[0];
                if (st.pooled() != pooled) {
                    pooled.merge(st.pooled());
                }
            }
            double[] ss = {squares};
            double seconds = seconds(t0);
            r.files.add(HESSIAN);
            Map<String, Object> q = r.quantity("full", rowsMethod(h) + (workers > 1 ? ", " + workers
                    + " workers in parallel" : "") + "; rows streamed to " + HESSIAN
                    + " by a writer thread while the next are computed", products() - before, seconds);
            q.put("rows", rows);
            q.put("shape", new long[] {rows, p});
            q.put("dtype", "float32");
            q.put("ms_per_row", seconds * 1e3 / rows);
            q.put("workers", workers);
            q.put("worker_seconds", busy);
            q.put("writer_seconds", Map.of("write", streamSeconds[0], "workers_waiting_for_writer", streamSeconds[2],
                    "final_sync", streamSeconds[3]));
            long ts = System.nanoTime();
            double asym = Symmetry.maxAsymmetry(file, rows, p);
            q.put("max_asymmetry_seconds", seconds(ts));
            r.summary.put("max_asymmetry", asym);
            if (rows < p) {
                q.put("note", "--rows " + rows + ": only the first rows (a benchmarking aid); max_asymmetry is over the "
                        + "leading " + rows + " x " + rows + " block");
            } else {
                frobenius = Math.sqrt(ss[0]);
                diag = d;
            }
            Plots.heatmap(dir.resolve(HESSIAN_PLOT), String.format(Locale.ROOT, "%s: %s Hessian w.r.t. parameters%s",
                    r.s.name(), r.loss == null ? "output" : r.loss, pooled.pool() > 1 ? " (max-|v| pooled " + pooled.pool()
                            + "x, " + rows + "x" + p + ")" : ""), pooled.cells(), scaled(boundaries(), pooled.pool()));
            r.files.add(HESSIAN_PLOT);
        }

        static int[] scaled(int[] b, int pool) {
            return Arrays.stream(b).map(v -> (v + pool - 1) / pool).toArray();
        }

        void diagonal() throws IOException {
            long t0 = System.nanoTime();
            long before = products();
            String method;
            if (diag != null) {
                method = "the diagonal of the full Hessian's rows (no extra products)";
            } else {
                ParamHessian h = batched();
                int k = h.replicas();
                double[] d = new double[p];
                double[] sums = new double[1];
                ThreadLocal<float[]> buffers = ThreadLocal.withInitial(() -> new float[k * p]);
                parallelRows(p, "diag", (hw, start, count) -> {
                    float[] buf = buffers.get();
                    hw.rows(start, count, buf);
                    double s2 = 0;
                    for (int c = 0; c < count; c++) {
                        d[start + c] = buf[c * p + start + c];
                        for (int j = 0; j < p; j++) {
                            s2 += (double) buf[c * p + j] * buf[c * p + j];
                        }
                    }
                    synchronized (sums) {
                        sums[0] += s2;
                    }
                });
                double ss = sums[0];
                diag = d;
                frobenius = Math.sqrt(ss);
                method = "exact: every row of H by " + rowsMethod(h) + (workers().size() > 1 ? ", " + workers().size()
                        + " workers in parallel" : "") + ", keeping its diagonal entry";
            }
            if (r.o.wants("diag")) {
                Npy.write(dir.resolve(DIAG), diag, new long[] {p});
                r.files.add(DIAG);
                Map<String, Object> q = r.quantity("diag", method, products() - before, seconds(t0));
                q.put("sum", sum(diag));
                q.put("min", Arrays.stream(diag).min().orElse(Double.NaN));
                q.put("max", Arrays.stream(diag).max().orElse(Double.NaN));
            } else {
                r.timings.put("diagonal_for_trace_seconds", seconds(t0));
                r.timings.put("diagonal_for_trace_hvps", products() - before);
            }
        }

        void trace() {
            double exact = sum(diag);
            long t0 = System.nanoTime();
            long before = products();
            ParamHessian h = batched();
            Hutchinson.Estimate e = Hutchinson.estimate(batchedOp(h), p, r.o.probes(), h.replicas(), r.o.seed());
            Map<String, Object> q = r.quantity("trace", "exact: the sum of the exact diagonal; estimate: Hutchinson with "
                    + r.o.probes() + " Rademacher probes (seed " + r.o.seed() + ")", products() - before, seconds(t0));
            q.put("exact", exact);
            q.put("hutchinson", e.trace());
            q.put("hutchinson_standard_error", e.standardError());
            q.put("probes", r.o.probes());
            q.put("deviation_in_standard_errors", (e.trace() - exact) / e.standardError());
            r.summary.put("trace", exact);
        }

        void eigs() throws IOException {
            long t0 = System.nanoTime();
            long before = products();
            ParamHessian h = single();
            int k = Math.min(r.o.k(), p);
            Lanczos.Eigs e = Lanczos.topK(h::hvp, p, k, r.eigSteps(p), LANCZOS_TOL, r.o.seed(), r.o.eigenvectors());
            Npy.write(dir.resolve(EIGENVALUES), e.values(), new long[] {e.values().length});
            r.files.add(EIGENVALUES);
            if (r.o.eigenvectors()) {
                double[] all = new double[e.values().length * p];
                for (int i = 0; i < e.values().length; i++) {
                    System.arraycopy(e.vectors()[i], 0, all, i * p, p);
                }
                Npy.write(dir.resolve(EIGENVECTORS), all, new long[] {e.values().length, p});
                r.files.add(EIGENVECTORS);
            }
            Map<String, Object> q = r.quantity("eigs", "Lanczos with full reorthogonalisation in float64 over "
                    + "Hessian-vector products, from a seeded Gaussian start (seed " + r.o.seed() + ")", products() - before,
                    seconds(t0));
            q.put("k", k);
            q.put("values", e.values());
            q.put("residuals", e.residuals());
            q.put("lambda_max", e.lambdaMax());
            q.put("lambda_min", e.lambdaMin());
            q.put("steps", e.steps());
            q.put("converged", e.converged());
            r.summary.put("eigenvalues", e.values());
            r.summary.put("lambda_max", e.lambdaMax());
            r.summary.put("lambda_min", e.lambdaMin());
            Plots.bars(dir.resolve(EIGENVALUES_PLOT), r.s.name() + ": top " + k + " Hessian eigenvalues by magnitude",
                    "rank", "eigenvalue", e.values());
            r.files.add(EIGENVALUES_PLOT);
        }

        void density() throws IOException {
            long t0 = System.nanoTime();
            long before = products();
            ParamHessian h = batched();
            int steps = r.densitySteps(p);
            long perChain = (steps + 2L) * p * Double.BYTES;
            int fit = (int) Math.max(1, Math.min(h.replicas(), (long) (Budget.availableHeap() * BASIS_SHARE) / perChain));
            SpectralDensity.Quadrature quad = SpectralDensity.estimate(batchedOp(h), p, r.o.probes(), steps, fit,
                    r.o.seed() ^ 0x5DEECE66DL);
            writeDensity(r, dir, quad, quad.defaultSigma());
            Map<String, Object> q = r.quantity("density", "stochastic Lanczos quadrature: " + r.o.probes()
                    + " Rademacher probes x " + steps + " Lanczos steps, Gaussian broadening", products() - before,
                    seconds(t0));
            q.put("probes", r.o.probes());
            q.put("steps", steps);
            q.put("sigma", quad.defaultSigma());
            q.put("support", new double[] {quad.min(), quad.max()});
        }

    }

    static UnaryOperator<double[][]> batchedOp(ParamHessian h) {
        return vs -> {
            double[][] out = new double[vs.length][];
            for (int start = 0; start < vs.length; start += h.replicas()) {
                int count = Math.min(h.replicas(), vs.length - start);
                double[][] part = h.hvp(Arrays.copyOfRange(vs, start, start + count));
                System.arraycopy(part, 0, out, start, count);
            }
            return out;
        };
    }

    static void writeDensity(Run r, Path dir, SpectralDensity.Quadrature quad, double sigma) throws IOException {
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

    // ---- inputs ------------------------------------------------------------------------------

    /** Hessians with respect to the input, of every output or of each point's loss. */
    private static final class InputPart {
        final Run r;
        final Path dir;

        InputPart(Run r, Path dir) {
            this.r = r;
            this.dir = dir;
        }

        void run() throws IOException {
            Network net = r.net;
            int n = r.points.n();
            int d = net.inputs();
            InspectOptions o = r.o;
            try (PointHessians ph = new PointHessians(net)) {
                int m = ph.matrices(r.loss);
                int dd = d * d;
                int mats = n * m;
                int k = Math.min(o.k(), d);
                boolean wantEig = o.wants("eigs") || o.wants("density");
                double[] v = r.vector;
                double[] diag = new double[mats * d];
                double[] rowsum = new double[mats * d];
                double[] hvp = v == null ? null : new double[mats * d];
                double[] trace = new double[mats];
                double[] eig = wantEig ? new double[mats * k] : null;
                double[] vec = o.eigenvectors() ? new double[mats * k * d] : null;
                double[] spectrum = o.wants("density") ? new double[mats * d] : null;
                double[] first = null;
                double[] hutch = new double[o.probes()];
                SplittableRandom probeRng = new SplittableRandom(o.seed());
                double ss = 0;
                double perMatrixFro = 0;
                double asym = 0;
                double lmin = Double.POSITIVE_INFINITY;
                double lmax = Double.NEGATIVE_INFINITY;
                double hessSeconds = 0;
                double eigSeconds = 0;
                double hutchSeconds = 0;
                Npy.Writer w = o.wants("full") ? Npy.open(dir.resolve(HESSIAN), Npy.F8, new long[] {n, m, d, d}) : null;
                try {
                    for (int start = 0; start < n; start += ph.chunk()) {
                        int count = Math.min(ph.chunk(), n - start);
                        long t0 = System.nanoTime();
                        double[] h = ph.compute(Arrays.copyOfRange(r.points.x(), start * d, (start + count) * d), count,
                                r.points.y() == null ? null : targets(start, count), r.loss);
                        if (w != null) {
                            w.write(h);
                        }
                        hessSeconds += seconds(t0);
                        if (first == null) {
                            first = Arrays.copyOfRange(h, 0, dd);
                        }
                        for (int c = 0; c < count * m; c++) {
                            int mat = start * m + c;
                            int base = c * dd;
                            double fro = 0;
                            for (int j = 0; j < d; j++) {
                                double rs = 0;
                                double hv = 0;
                                for (int kk = 0; kk < d; kk++) {
                                    double x = h[base + j * d + kk];
                                    rs += x;
                                    fro += x * x;
                                    if (v != null) {
                                        hv += x * v[kk];
                                    }
                                    asym = Math.max(asym, Math.abs(x - h[base + kk * d + j]));
                                }
                                diag[mat * d + j] = h[base + j * d + j];
                                rowsum[mat * d + j] = rs;
                                if (hvp != null) {
                                    hvp[mat * d + j] = hv;
                                }
                                trace[mat] += h[base + j * d + j];
                            }
                            ss += fro;
                            perMatrixFro += Math.sqrt(fro);
                            if (o.wants("trace")) {
                                long th = System.nanoTime();
                                for (int pr = 0; pr < hutch.length; pr++) {
                                    double[] z = new double[d];
                                    for (int j = 0; j < d; j++) {
                                        z[j] = probeRng.nextBoolean() ? 1 : -1;
                                    }
                                    double q = 0;
                                    for (int j = 0; j < d; j++) {
                                        double hz = 0;
                                        for (int kk = 0; kk < d; kk++) {
                                            hz += h[base + j * d + kk] * z[kk];
                                        }
                                        q += z[j] * hz;
                                    }
                                    hutch[pr] += q;
                                }
                                hutchSeconds += seconds(th);
                            }
                            if (wantEig) {
                                long te = System.nanoTime();
                                double[][] a = new double[d][];
                                for (int j = 0; j < d; j++) {
                                    a[j] = Arrays.copyOfRange(h, base + j * d, base + (j + 1) * d);
                                }
                                SymmetricEigen.Result e = SymmetricEigen.jacobi(a);
                                int[] order = SymmetricEigen.byMagnitude(e.values());
                                for (int i = 0; i < k; i++) {
                                    eig[mat * k + i] = e.values()[order[i]];
                                    if (vec != null) {
                                        double[] ev = e.vector(order[i]);
                                        System.arraycopy(ev, 0, vec, (mat * k + i) * d, d);
                                    }
                                }
                                if (spectrum != null) {
                                    System.arraycopy(e.values(), 0, spectrum, mat * d, d);
                                }
                                lmin = Math.min(lmin, e.values()[0]);
                                lmax = Math.max(lmax, e.values()[d - 1]);
                                eigSeconds += seconds(te);
                            }
                        }
                    }
                    if (w != null) {
                        w.close();
                        w = null;
                    }
                } finally {
                    if (w != null) {
                        w.abort();
                    }
                }
                String method = "exact: Taylor-mode forward pass (value, Jacobian and Hessian carried through the layers)"
                        + (r.loss == null ? "" : ", composed with the " + r.loss + " loss of each point");
                long[] shape3 = {n, m, d};
                r.summary.put("dimension", d);
                r.summary.put("matrices_per_point", m);
                r.summary.put("frobenius_norm", Math.sqrt(ss));
                r.summary.put("frobenius_norm_mean", perMatrixFro / mats);
                r.summary.put("max_asymmetry", asym);
                r.summary.put("trace", sum(trace));
                r.timings.put("hessian_seconds", hessSeconds);
                if (o.wants("full")) {
                    r.files.add(HESSIAN);
                    Map<String, Object> q = r.quantity("full", method + "; streamed to " + HESSIAN, 0, hessSeconds);
                    q.put("shape", new long[] {n, m, d, d});
                    q.put("dtype", "float64");
                }
                if (o.wants("diag")) {
                    Npy.write(dir.resolve(DIAG), diag, shape3);
                    r.files.add(DIAG);
                    r.quantity("diag", method, 0, hessSeconds).put("shape", shape3);
                }
                if (o.wants("rowsum")) {
                    Npy.write(dir.resolve(ROWSUM), rowsum, shape3);
                    r.files.add(ROWSUM);
                    r.quantity("rowsum", method + "; row sums H·1", 0, hessSeconds).put("shape", shape3);
                }
                if (hvp != null) {
                    Npy.write(dir.resolve(HVP), hvp, shape3);
                    r.files.add(HVP);
                    r.quantity("hvp", method + "; products H·v, v from " + o.vector(), 0, hessSeconds).put("shape", shape3);
                }
                if (o.wants("trace")) {
                    double mean = sum(hutch) / hutch.length;
                    double se = Double.NaN;
                    if (hutch.length > 1) {
                        double s2 = 0;
                        for (double x : hutch) {
                            s2 += (x - mean) * (x - mean);
                        }
                        se = Math.sqrt(s2 / (hutch.length - 1) / hutch.length);
                    }
                    Map<String, Object> q = r.quantity("trace", "exact: the sum of the diagonal of every Hessian; estimate: "
                            + "Hutchinson with " + o.probes() + " Rademacher probes per Hessian (seed " + o.seed()
                            + "), of the total over points and " + (r.loss == null ? "outputs" : "the loss"), 0,
                            hessSeconds + hutchSeconds);
                    q.put("exact", sum(trace));
                    q.put("hutchinson", mean);
                    q.put("hutchinson_standard_error", se);
                    q.put("probes", o.probes());
                    q.put("deviation_in_standard_errors", (mean - sum(trace)) / se);
                    q.put("matrix_products", (long) o.probes() * mats);
                    if (trace.length <= 10_000) {
                        q.put("values", reshape(trace, n, m));
                    }
                }
                if (o.wants("eigs")) {
                    long[] shape = {n, m, k};
                    Npy.write(dir.resolve(EIGENVALUES), eig, shape);
                    r.files.add(EIGENVALUES);
                    if (vec != null) {
                        Npy.write(dir.resolve(EIGENVECTORS), vec, new long[] {n, m, k, d});
                        r.files.add(EIGENVECTORS);
                    }
                    Map<String, Object> q = r.quantity("eigs", "exact: Jacobi eigen-decomposition of every d x d Hessian, "
                            + "top " + k + " by magnitude", 0, hessSeconds + eigSeconds);
                    q.put("shape", shape);
                    q.put("lambda_max", lmax);
                    q.put("lambda_min", lmin);
                    double[] firstValues = Arrays.copyOfRange(eig, 0, k);
                    q.put("values_first_point", firstValues);
                    r.summary.put("eigenvalues", firstValues);
                    r.summary.put("lambda_max", lmax);
                    r.summary.put("lambda_min", lmin);
                    Plots.bars(dir.resolve(EIGENVALUES_PLOT), r.s.name() + ": top " + k + " eigenvalues of the first "
                            + (r.loss == null ? "point's first output" : "point's loss") + " Hessian", "rank", "eigenvalue",
                            firstValues);
                    r.files.add(EIGENVALUES_PLOT);
                }
                if (spectrum != null) {
                    SpectralDensity.Quadrature all = new SpectralDensity.Quadrature(split(spectrum, mats, d),
                            uniformWeights(mats, d), 0);
                    writeDensity(r, dir, all, all.defaultSigma());
                    Map<String, Object> q = r.quantity("density", "exact eigenvalues of every Hessian (Jacobi), averaged "
                            + "over the " + mats + " matrices, Gaussian broadening", 0, hessSeconds + eigSeconds);
                    q.put("sigma", all.defaultSigma());
                    q.put("support", new double[] {all.min(), all.max()});
                }
                if (first != null && o.wants("full")) {
                    double[][] a = new double[d][];
                    for (int j = 0; j < d; j++) {
                        a[j] = Arrays.copyOfRange(first, j * d, (j + 1) * d);
                    }
                    Plots.heatmap(dir.resolve(HESSIAN_PLOT), r.s.name() + ": " + (r.loss == null
                            ? "output 1" : r.loss + " loss") + " Hessian w.r.t. the input at point 1", a, new int[0]);
                    r.files.add(HESSIAN_PLOT);
                }
            }
        }

        double[] targets(int start, int count) {
            int t = r.points.y().length / r.points.n();
            return Arrays.copyOfRange(r.points.y(), start * t, (start + count) * t);
        }
    }

    static double[][] split(double[] values, int rows, int cols) {
        double[][] out = new double[rows][];
        for (int i = 0; i < rows; i++) {
            out[i] = Arrays.copyOfRange(values, i * cols, (i + 1) * cols);
        }
        return out;
    }

    static double[][] uniformWeights(int rows, int cols) {
        double[][] w = new double[rows][cols];
        for (double[] row : w) {
            Arrays.fill(row, 1.0 / cols);
        }
        return w;
    }

    static double[][] reshape(double[] values, int rows, int cols) {
        return split(values, rows, cols);
    }

    // ---- helpers -----------------------------------------------------------------------------

    static long widest(Network net) {
        ai.djl.ndarray.types.Shape s = net.sampleShape();
        long w = s.size();
        for (Layer l : net.layers()) {
            s = l.outputShape(s);
            w = Math.max(w, s.size());
        }
        return w;
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

    static double dot(double[] a, double[] b) {
        double s = 0;
        for (int i = 0; i < a.length; i++) {
            s += a[i] * b[i];
        }
        return s;
    }

    /** SHA-256 of the points' shape, inputs and targets, hashed as datasets are ({@link Dataset#sha256}). */
    static String sha(Points p) {
        double[] y = p.y() == null ? new double[0] : p.y();
        return Dataset.sha256(new long[] {p.n(), p.d(), y.length}, p.x(), y);
    }
}
