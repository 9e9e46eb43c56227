package dev.hesstrain.inspect;

import static dev.hesstrain.inspect.InspectJob.BASIS_SHARE;
import static dev.hesstrain.inspect.InspectJob.DIAG;
import static dev.hesstrain.inspect.InspectJob.DIAG_GGN;
import static dev.hesstrain.inspect.InspectJob.EIGENVALUES;
import static dev.hesstrain.inspect.InspectJob.EIGENVALUES_PLOT;
import static dev.hesstrain.inspect.InspectJob.EIGENVECTORS;
import static dev.hesstrain.inspect.InspectJob.HESSIAN;
import static dev.hesstrain.inspect.InspectJob.HESSIAN_PLOT;
import static dev.hesstrain.inspect.InspectJob.HVP;
import static dev.hesstrain.inspect.InspectJob.LANCZOS_TOL;
import static dev.hesstrain.inspect.InspectJob.LAYOUT;
import static dev.hesstrain.inspect.InspectJob.ROWSUM;
import static dev.hesstrain.hessian.Curvature.dot;
import static dev.hesstrain.inspect.InspectRun.seconds;
import static dev.hesstrain.inspect.InspectRun.sum;
import static dev.hesstrain.inspect.InspectRun.writeDensity;

import dev.hesstrain.inspect.Choice.Matrix;
import dev.hesstrain.inspect.Choice.Method;
import dev.hesstrain.inspect.Choice.Quantity;
import dev.hesstrain.hessian.Curvature;
import dev.hesstrain.hessian.BackpropOperator;
import dev.hesstrain.hessian.ParamCurvature;
import dev.hesstrain.hessian.Hutchinson;
import dev.hesstrain.hessian.Lanczos;
import dev.hesstrain.hessian.ParamHessian;
import dev.hesstrain.hessian.ParamHessianOperator;
import dev.hesstrain.hessian.SpectralDensity;
import dev.hesstrain.hessian.SymmetricOperator;
import dev.hesstrain.runs.Json;
import dev.hesstrain.runs.Npy;
import dev.hesstrain.runs.PooledMatrix;
import dev.hesstrain.runs.Plots;
import java.io.IOException;
import java.nio.ByteBuffer;
import java.nio.ByteOrder;
import java.nio.DoubleBuffer;
import java.nio.FloatBuffer;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Locale;
import java.util.Map;

/** Hessians of the loss (or the single output) with respect to all parameters. */
final class ParamsInspection {
    final InspectRun r;
    final Path dir;
    final int p;
    ParamHessian batched;
    ParamHessian single;
    final List<ParamHessian> extraWorkers = new ArrayList<>();
    double[] diag;
    double frobenius = Double.NaN;
    /** The curvature backpropagation pass, its refusal of the model (null: it takes it), and its diagonals. */
    ParamCurvature pass;
    String passRefusal;
    ParamCurvature.Diagonals passDiag;
    double passSeconds;
    double passMin;
    /** Whether a quantity has reported the pass's seconds (the first one that uses it does). */
    boolean passCharged;
    SymmetricOperator gaussNewton;

    ParamsInspection(InspectRun r, Path dir) {
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
        long perReplica = Math.max(1, r.net.widest() * r.points.n() * 4L);
        long byCache = (1L << 20) / perReplica;
        long byParams = (64L << 20) / ((long) p * Double.BYTES);
        return (int) Math.max(1, Math.min(64, Math.min(byParams, byCache)));
    }

    ParamHessian batched() {
        if (batched == null) {
            int k = r.o.hvpBatch() != null ? r.o.hvpBatch() : autoBatch();
            long t0 = System.nanoTime();
            batched = new ParamHessian(r.net, r.points.x(), r.points.n(), r.points.y(), r.loss, k);
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
                single = new ParamHessian(r.net, r.points.x(), r.points.n(), r.points.y(), r.loss, 1);
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
        return n + (pass == null ? 0 : pass.products());
    }

    /**
     * The lanes of the parameter-Hessian operator: the batched graph and, when replicated, one more
     * per thread, each computing its row blocks and products on its own thread.
     */
    List<ParamHessian> workers() {
        ParamHessian first = batched();
        int n = first.replicated() ? r.o.threads() : 1;
        while (1 + extraWorkers.size() < n) {
            long t0 = System.nanoTime();
            extraWorkers.add(new ParamHessian(r.net, r.points.x(), r.points.n(), r.points.y(), r.loss,
                    first.replicas()));
            r.timings.merge("graph_seconds_" + first.replicas(), (System.nanoTime() - t0) / 1e9,
                    (a, b) -> (Double) a + (Double) b);
        }
        List<ParamHessian> all = new ArrayList<>();
        all.add(first);
        all.addAll(extraWorkers);
        return all;
    }

    /** The operator over every lane (row blocks and products spread over them); the GGN's or Fisher's when asked for. */
    SymmetricOperator lanes() {
        if (gaussNewton()) {
            return gaussNewtonOperator();
        }
        return r.watched(new ParamHessianOperator(workers(), r.net.manager()));
    }

    /** The operator of single products (rowsum, hvp, eigs): one graph of the Hessian, or the GGN's or Fisher's. */
    SymmetricOperator productOperator() {
        return gaussNewton() ? gaussNewtonOperator() : operator(single());
    }

    /** Whether the matrix is the GGN or the Fisher rather than the Hessian. */
    boolean gaussNewton() {
        return r.o.curvature() != Matrix.HESSIAN;
    }

    /** Whether the diagonal comes from the curvature backpropagation pass. */
    boolean viaPass() {
        return r.o.method() == Method.BACKPROP && passRefusal == null;
    }

    ParamCurvature pass() {
        if (pass == null) {
            pass = new ParamCurvature(r.net, r.points.x(), r.points.n(), r.points.y(), r.loss,
                    r.o.curvature() == Matrix.FISHER ? r.o.samplesPerPoint() : 0, r.o.seed());
        }
        return pass;
    }

    SymmetricOperator gaussNewtonOperator() {
        if (gaussNewton == null) {
            gaussNewton = r.watched(new BackpropOperator(pass(), BackpropOperator.Kind.GAUSS_NEWTON, r.net.manager(), autoBatch()));
        }
        return gaussNewton;
    }

    /** The pass's diagonals (Hessian and GGN, or the Fisher's) with the value and gradient, timed. */
    ParamCurvature.Diagonals passDiagonals() {
        if (passDiag == null) {
            checkPassMemory();
            long t0 = System.nanoTime();
            passDiag = pass().diagonals(!gaussNewton(), true);
            passSeconds = seconds(t0);
            passMin = passSeconds;
            for (int i = 1; i < r.o.repeat(); i++) {
                long t1 = System.nanoTime();
                pass().diagonals(!gaussNewton(), false); // the diagonal alone, without the gradient
                passMin = Math.min(passMin, seconds(t1));
            }
        }
        return passDiag;
    }

    /** The pass's memory estimate (setup/Preflight), recorded, and refused where it exceeds the free memory. */
    void checkPassMemory() {
        int columns = r.loss == null ? 0 : r.o.curvature() == Matrix.FISHER ? r.o.samplesPerPoint() : r.net.outputs();
        long bytes = dev.hesstrain.setup.Preflight.curvaturePassBytes(r.s.spec, r.net.inputs(), r.points.n(), columns,
                !gaussNewton());
        r.timings.put("pass_memory_estimate_bytes", bytes);
        long free = dev.hesstrain.setup.Preflight.Memory.here().nativeFree();
        if (free > 0 && bytes > free) {
            throw new InspectException("the curvature backpropagation pass needs about "
                    + dev.hesstrain.setup.Preflight.bytes(bytes) + " for " + r.points.n() + " points, "
                    + dev.hesstrain.setup.Preflight.bytes(free) + " are free: use fewer points (--points, --samples) or "
                    + "--method rows (P products, little memory)");
        }
    }

    /**
     * One gradient of the same loss, as training computes it, measured once: the unit of the pass's
     * cost; the least of as many rounds as the pass's {@code --repeat} (at least 5), so that both
     * sides of the ratio are equally warm.
     */
    double gradientSeconds() {
        Object known = r.timings.get("gradient_seconds");
        if (known != null) {
            return (Double) known;
        }
        double grad = ParamCurvature.gradientSeconds(r.net, r.points.x(), r.points.n(), r.points.y(), r.loss,
                Math.max(5, r.o.repeat()));
        r.timings.put("gradient_seconds", grad);
        return grad;
    }

    /** What one product is, for the quantities' method texts. */
    String product() {
        return switch (r.o.curvature()) {
            case HESSIAN -> "Hessian-vector product";
            case GGN -> "GGN-vector product Jᵀ(H_f(J v)) (forward-mode tangents, the loss factor, one reverse pass)";
            case FISHER -> "Fisher-vector product Jᵀ(S(Sᵀ(J v))) with " + r.o.samplesPerPoint()
                    + " sampled label(s) per point (seed " + r.o.seed() + ")";
        };
    }

    /** The operator of one graph, one vector per pass: for single products and Lanczos. */
    SymmetricOperator operator(ParamHessian h) {
        return r.watched(new ParamHessianOperator(h, r.net.manager()));
    }

    String rowsMethod(ParamHessian h) {
        int lanes = workers().size();
        return (h.replicated()
                ? "reverse-over-reverse: one backward pass through the gradient graph per " + h.replicas()
                        + " rows, the network evaluated on " + h.replicas() + " replicas of its parameters"
                : "reverse-over-reverse: one backward pass through the gradient graph per row")
                + (lanes > 1 ? ", " + lanes + " graphs in parallel" : "");
    }

    void run() throws IOException {
        writeLayout();
        passRefusal = ParamCurvature.refusal(r.net, r.loss);
        if (gaussNewton() && passRefusal != null) {
            throw new InspectException("--curvature " + r.o.curvature() + ": " + passRefusal);
        }
        boolean diagOrTrace = r.o.wants(Quantity.DIAG) || r.o.wants(Quantity.TRACE);
        if (r.o.method() == Method.BACKPROP && passRefusal != null && diagOrTrace) {
            r.progress.line("the curvature backpropagation pass cannot take this model: " + passRefusal
                    + "; the diagonal comes from every row (--method rows)");
        }
        boolean graph = !gaussNewton() && (r.o.wants(Quantity.FULL) || r.o.wants(Quantity.ROWSUM)
                || r.o.wants(Quantity.HVP) || r.o.wants(Quantity.EIGS) || r.o.wants(Quantity.DENSITY)
                || (diagOrTrace && !viaPass()) || (r.o.wants(Quantity.TRACE) && r.o.probesGiven()));
        double value;
        double[] g;
        if (graph) {
            ParamHessian any = r.o.wants(Quantity.FULL) || r.o.wants(Quantity.DIAG) || r.o.wants(Quantity.TRACE)
                    || r.o.wants(Quantity.DENSITY) ? batched() : single();
            value = any.value();
            g = any.gradient();
        } else {
            value = passDiagonals().value();
            g = passDiag.gradient();
        }
        r.summary.put("dimension", p);
        r.summary.put("curvature", r.o.curvature().id());
        r.summary.put("value", value);
        double gradientNorm = Math.sqrt(dot(g, g));
        if (!Double.isFinite(value) || !Double.isFinite(gradientNorm)) {
            throw new InspectException(String.format(Locale.ROOT, "the %s is %s and its gradient norm %s at these "
                    + "weights and points: values that are not finite have no Hessian; nothing was computed",
                    r.loss == null ? "output" : r.loss + " loss", value, gradientNorm));
        }
        r.summary.put("gradient_norm", gradientNorm);
        r.summary.put("hvp_batch", batched == null ? 1 : batched.replicas());
        if (r.o.wants(Quantity.FULL)) {
            full();
        }
        if (r.o.wants(Quantity.DIAG)) {
            diagonal();
        }
        if (r.o.wants(Quantity.ROWSUM)) {
            long t0 = System.nanoTime();
            long before = products();
            double[] ones = new double[p];
            Arrays.fill(ones, 1);
            double[] rs = Curvature.times(productOperator(), ones);
            Npy.write(dir.resolve(ROWSUM), rs, new long[] {p});
            r.files.add(ROWSUM);
            Map<String, Object> q = r.quantity("rowsum", "one " + product() + " with 1", products() - before,
                    seconds(t0));
            q.put("sum", sum(rs));
        }
        if (r.o.wants(Quantity.HVP)) {
            double[] v = r.vector;
            long t0 = System.nanoTime();
            long before = products();
            double[] hv = Curvature.times(productOperator(), v);
            Npy.write(dir.resolve(HVP), hv, new long[] {p});
            r.files.add(HVP);
            Map<String, Object> q = r.quantity("hvp", "one " + product() + ", v from " + r.o.vector(),
                    products() - before, seconds(t0));
            q.put("norm", Math.sqrt(dot(hv, hv)));
            q.put("v_dot_hv", dot(v, hv));
        }
        if (r.o.wants(Quantity.TRACE)) {
            trace();
        }
        if (r.o.wants(Quantity.EIGS)) {
            eigs();
        }
        if (r.o.wants(Quantity.DENSITY)) {
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
        if (pass != null) {
            pass.close();
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

    /** Where each parameter block starts, the first at 0, in the order of {@link ParamHessian#layout}. */
    int[] blockStarts() {
        return ParamHessian.layout(r.net).stream().mapToInt(b -> (int) b.offset()).toArray();
    }

    void full() throws IOException {
        r.doing("full");
        int rows = r.o.rows() == null ? p : Math.min(r.o.rows(), p);
        int k = gaussNewton() ? gaussNewtonOperator().blockSize() : batched().replicas();
        String how = gaussNewton() ? "every row as a " + product() + " with unit vectors, " + k + " per pass"
                : rowsMethod(batched());
        double[] d = new double[rows];
        // each lane folds its rows into its own sums and heatmap while they are in its cache
        record Stats(PooledMatrix pooled, double[] squares) {}
        List<Stats> partial = java.util.Collections.synchronizedList(new ArrayList<>());
        ThreadLocal<Stats> mine = ThreadLocal.withInitial(() -> {
            Stats st = new Stats(new PooledMatrix(rows, p, 1000), new double[1]);
            partial.add(st);
            return st;
        });
        SymmetricOperator op = lanes(); // graphs are built before the clock starts
        int workers = op.lanes();
        long before = products();
        long t0 = System.nanoTime();
        Path file = dir.resolve(HESSIAN);
        double[] streamSeconds;
        // the file in the model's dtype: float64 rows for a float64 model
        boolean f64 = r.net.dtype() == ai.djl.ndarray.types.DataType.FLOAT64;
        // one lane: a writer thread overlaps writing with computing; several: each writes its own rows,
        // straight from the block's own memory (no copy for a contiguous array), so the stream's
        // buffers go unused and one is enough; one lane copies each block into a buffer of the writer
        boolean direct = workers > 1 && ByteOrder.nativeOrder() == ByteOrder.LITTLE_ENDIAN;
        try (RowStream out = new RowStream(file, f64 ? Npy.F8 : Npy.F4, rows, p, k, direct ? 1 : 2 * workers + 1,
                (first, count, values) -> { }, workers == 1)) {
            Curvature.rows(op, rows, (start, count, block) -> {
                Stats st = mine.get();
                ByteBuffer bytes = block.toByteBuffer(true).order(ByteOrder.nativeOrder());
                RowStream.Buffer buf = direct ? null : out.take();
                if (f64) {
                    DoubleBuffer values = bytes.asDoubleBuffer();
                    for (int c = 0; c < count; c++) {
                        st.squares()[0] += st.pooled().add(start + c, values, c * p, p);
                        d[start + c] = values.get(c * p + start + c);
                    }
                    if (buf != null) {
                        buf.doubles().put(0, values, 0, count * p);
                    }
                } else {
                    FloatBuffer values = bytes.asFloatBuffer();
                    for (int c = 0; c < count; c++) {
                        st.squares()[0] += st.pooled().add(start + c, values, c * p, p);
                        d[start + c] = values.get(c * p + start + c);
                    }
                    if (buf != null) {
                        buf.floats().put(0, values, 0, count * p);
                    }
                }
                if (buf != null) {
                    out.submit(buf, start, count);
                } else {
                    out.write(bytes, start, count);
                }
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
        double seconds = seconds(t0);
        r.files.add(HESSIAN);
        Map<String, Object> q = r.quantity("full", how + "; rows streamed to " + HESSIAN
                + (workers == 1 ? " by a writer thread while the next are computed" : ", each graph writing its own"),
                products() - before, seconds);
        q.put("rows", rows);
        q.put("shape", new long[] {rows, p});
        q.put("dtype", f64 ? "float64" : "float32");
        q.put("ms_per_row", seconds * 1e3 / rows);
        q.put("workers", workers);
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
            frobenius = Math.sqrt(squares);
            diag = d;
        }
        Plots.heatmap(dir.resolve(HESSIAN_PLOT), String.format(Locale.ROOT, "%s: %s %s w.r.t. parameters%s",
                r.s.name(), r.loss == null ? "output" : r.loss, gaussNewton() ? r.o.curvature().id().toUpperCase(Locale.ROOT)
                        : "Hessian", pooled.pool() > 1 ? " (max-|v| pooled " + pooled.pool()
                        + "x, " + rows + "x" + p + ")" : ""), pooled.cells(), scaled(blockStarts(), pooled.pool()),
                ParamHessian.layout(r.net).stream().map(ParamHessian.Block::name).toList());
        r.files.add(HESSIAN_PLOT);
    }

    static int[] scaled(int[] b, int pool) {
        return Arrays.stream(b).map(v -> (v + pool - 1) / pool).toArray();
    }

    void diagonal() throws IOException {
        r.doing("diag");
        long t0 = System.nanoTime();
        long before = products();
        String method;
        double seconds = -1;
        List<Map<String, Object>> blocks = null;
        String methodId = "rows";
        boolean gradientCosts = false;
        if (diag != null) {
            method = "the diagonal of the full matrix's rows (no extra products)";
        } else if (viaPass()) {
            boolean fresh = passDiag == null;
            ParamCurvature.Diagonals d = passDiagonals();
            seconds = fresh ? seconds(t0) : passSeconds;
            passCharged = true;
            diag = gaussNewton() ? d.ggn() : d.hessian();
            method = passMethod();
            methodId = "backprop";
            gradientCosts = true;
            if (!gaussNewton()) {
                Npy.write(dir.resolve(DIAG_GGN), d.ggn(), new long[] {p});
                r.files.add(DIAG_GGN);
                blocks = blockSums(d);
            }
        } else {
            Curvature.Diagonal dn = Curvature.diagonalAndNorm(lanes());
            diag = dn.values();
            frobenius = dn.frobenius()[0];
            method = "exact: every row" + (gaussNewton() ? ", each a " + product() + " with unit vectors"
                    : " of H by " + rowsMethod(batched())) + ", keeping its diagonal entry";
        }
        Npy.write(dir.resolve(DIAG), diag, new long[] {p});
        r.files.add(DIAG);
        Map<String, Object> q = r.quantity("diag", method, products() - before, seconds >= 0 ? seconds : seconds(t0));
        q.put("method_id", methodId);
        if (gradientCosts) {
            // the unit of the pass's cost: one gradient of the same loss, as training computes it
            double grad = gradientSeconds();
            q.put("gradient_costs", (double) q.get("seconds") / grad);
            if (r.o.repeat() > 1) {
                q.put("seconds_min", passMin);
                q.put("gradient_costs_min", passMin / grad);
            }
        }
        if (blocks != null) {
            q.put("blocks", blocks);
        }
        q.put("sum", sum(diag));
        q.put("min", Arrays.stream(diag).min().orElse(Double.NaN));
        q.put("max", Arrays.stream(diag).max().orElse(Double.NaN));
    }

    /**
     * Hutchinson's estimate always; the exact trace only when the diagonal is at hand (diag or full
     * was asked for): it costs P products, against the probes of the estimate.
     */
    void trace() {
        r.doing("trace");
        long t0 = System.nanoTime();
        long before = products();
        Double exact = diag != null ? Double.valueOf(sum(diag)) : null;
        String exactHow = exact == null ? null : "the sum of the diagonal already computed for "
                + (r.o.wants(Quantity.FULL) ? "full" : "diag");
        double charged = 0;
        if (exact == null && viaPass()) {
            boolean fresh = passDiag == null;
            ParamCurvature.Diagonals d = passDiagonals();
            exact = sum(gaussNewton() ? d.ggn() : d.hessian());
            exactHow = "the sum of the diagonal from " + passMethod();
            if (!fresh && !passCharged) {
                charged = passSeconds; // computed before any quantity, for the value and gradient: its cost is this one's
            }
            passCharged = true;
        }
        boolean estimate = exact == null || r.o.probesGiven();
        Hutchinson.Estimate e = estimate ? Hutchinson.estimate(lanes(), r.o.probes(), r.o.seed()) : null;
        Map<String, Object> q = r.quantity("trace", (exact == null ? "exact: not computed (it needs the whole "
                + "diagonal, " + p + " products: add diag or full to --quantity)" : "exact: " + exactHow)
                + (estimate ? "; estimate: Hutchinson with " + r.o.probes() + " Rademacher probes (seed " + r.o.seed()
                + ")" : "; no Hutchinson estimate (give --probes N for one)"), products() - before, seconds(t0) + charged);
        q.put("exact", exact);
        q.put("exact_method", exact == null ? "not computed" : "sum of the diagonal");
        if (exact != null && viaPass() && !estimate) {
            q.put("gradient_costs", (double) q.get("seconds") / gradientSeconds());
        }
        if (estimate) {
            q.put("hutchinson", e.trace());
            q.put("hutchinson_standard_error", e.standardError());
            q.put("probes", r.o.probes());
            if (exact != null) {
                q.put("deviation_in_standard_errors", (e.trace() - exact) / e.standardError());
            }
        }
        r.summary.put("trace", exact != null ? exact.doubleValue() : e.trace());
        r.summary.put("trace_method", exact != null ? "exact" : "hutchinson");
    }

    void eigs() throws IOException {
        r.doing("eigs");
        long t0 = System.nanoTime();
        long before = products();
        int k = Math.min(r.o.k(), p);
        Curvature.Eigs found = Curvature.eigs(productOperator(), k, r.eigSteps(p), LANCZOS_TOL, r.o.seed(),
                r.o.eigenvectors()).get(0);
        Lanczos.Eigs e = found.result();
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
        Map<String, Object> q = r.quantity("eigs", found.exact() ? "exact: the " + p + " x " + p + " matrix from " + p
                + " " + product() + "s (no fewer Lanczos steps than that were allowed), decomposed by EJML"
                : "Lanczos with full reorthogonalisation in float64 over " + product() + "s, from a seeded "
                + "Gaussian start (seed " + r.o.seed() + ")", products() - before, seconds(t0));
        q.put("k", k);
        q.put("values", e.values());
        q.put("residuals", e.residuals());
        q.put("end_residuals", e.endResiduals());
        q.put("tolerance", LANCZOS_TOL + " x the largest magnitude, for the reported values");
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

    String passMethod() {
        return "exact: the curvature backpropagation pass (the " + (gaussNewton() ? r.o.curvature().id().toUpperCase(
                Locale.ROOT) : "Hessian, the GGN") + " of each sample's loss w.r.t. each layer's output carried down "
                + "the layers, the parameter diagonal read from it; no products)";
    }

    /** Per parameter block: the sums of the Hessian's and the GGN's diagonals and the residual's share. */
    List<Map<String, Object>> blockSums(ParamCurvature.Diagonals d) {
        List<Map<String, Object>> out = new ArrayList<>();
        double[] h = d.hessian();
        for (ParamHessian.Block b : ParamHessian.layout(r.net)) {
            double hs = 0;
            double gs = 0;
            for (int i = (int) b.offset(); i < b.offset() + b.size(); i++) {
                hs += h[i];
                gs += d.ggn()[i];
            }
            Map<String, Object> m = new LinkedHashMap<>();
            m.put("name", b.name());
            m.put("hessian_sum", hs);
            m.put("ggn_sum", gs);
            m.put("residual_sum", hs - gs);
            m.put("residual_share", hs == 0 ? 0.0 : (hs - gs) / hs);
            out.add(m);
        }
        return out;
    }

    void density() throws IOException {
        r.doing("density");
        long t0 = System.nanoTime();
        long before = products();
        SymmetricOperator op = lanes();
        int steps = r.densitySteps(p);
        long perChain = (steps + 2L) * p * Double.BYTES; // each chain's basis, on the engine
        int fit = (int) Math.max(1, Math.min(op.blockSize(), (long) (Budget.availableMemory() * BASIS_SHARE) / perChain));
        SpectralDensity.Quadrature quad = SpectralDensity.of(op, r.o.probes(), steps, fit,
                r.o.seed() ^ 0x5DEECE66DL);
        writeDensity(r, dir, quad, quad.defaultSigma());
        Map<String, Object> q = r.quantity("density", steps >= p ? "exact: the eigenvalues of the dense matrix ("
                + steps + " SLQ steps would reach the dimension " + p + "), Gaussian broadening"
                : "stochastic Lanczos quadrature: " + r.o.probes() + " Rademacher probes x " + steps
                + " Lanczos steps, Gaussian broadening", products() - before, seconds(t0));
        q.put("probes", r.o.probes());
        q.put("steps", steps);
        q.put("sigma", quad.defaultSigma());
        q.put("support", new double[] {quad.min(), quad.max()});
    }
}
