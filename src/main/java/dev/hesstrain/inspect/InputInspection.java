package dev.hesstrain.inspect;

import static dev.hesstrain.inspect.InspectJob.DIAG;
import static dev.hesstrain.inspect.InspectJob.EIGENVALUES;
import static dev.hesstrain.inspect.InspectJob.EIGENVALUES_PLOT;
import static dev.hesstrain.inspect.InspectJob.EIGENVECTORS;
import static dev.hesstrain.inspect.InspectJob.HESSIAN;
import static dev.hesstrain.inspect.InspectJob.HESSIAN_PLOT;
import static dev.hesstrain.inspect.InspectJob.HVP;
import static dev.hesstrain.inspect.InspectJob.LANCZOS_TOL;
import static dev.hesstrain.inspect.InspectJob.ROWSUM;
import static dev.hesstrain.inspect.InspectRun.seconds;
import static dev.hesstrain.inspect.InspectRun.sum;
import static dev.hesstrain.inspect.InspectRun.writeDensity;

import dev.hesstrain.inspect.Choice.Quantity;
import dev.hesstrain.hessian.Curvature;
import dev.hesstrain.hessian.DenseOperator;
import dev.hesstrain.hessian.Hutchinson;
import dev.hesstrain.hessian.Lanczos;
import dev.hesstrain.hessian.PointHessians;
import dev.hesstrain.hessian.SpectralDensity;
import dev.hesstrain.hessian.SymmetricOperator;
import dev.hesstrain.runs.Npy;
import dev.hesstrain.runs.Plots;
import java.io.IOException;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Locale;
import java.util.Map;
import java.util.SplittableRandom;

/**
 * Hessians with respect to the input, of every output or of each point's loss: each chunk of
 * points gives exact d × d Hessians from one pass ({@link PointHessians.Points}: the closed form, whose
 * diagonals, traces and products need no formed H, or the Taylor pass), the formed ones held as one {@link DenseOperator}
 * whose quantities are the same code as those of the parameter Hessian.
 */
final class InputInspection {
    final InspectRun r;
    final Path dir;
    /** Per quantity: products and seconds, added over the chunks. */
    final Map<String, double[]> cost = new LinkedHashMap<>();

    InputInspection(InspectRun r, Path dir) {
        this.r = r;
        this.dir = dir;
    }

    private void charge(String q, long products, long t0) {
        double[] c = cost.computeIfAbsent(q, k -> new double[2]);
        c[0] += products;
        c[1] += seconds(t0);
    }

    void run() throws IOException {
        int n = r.points.n();
        int d = r.net.inputs();
        InspectOptions o = r.o;
        try (PointHessians ph = new PointHessians(r.net)) {
            int m = ph.matrices(r.loss);
            int dd = d * d;
            int mats = n * m;
            int k = Math.min(o.k(), d);
            double[] ones = new double[d];
            Arrays.fill(ones, 1);
            double[] diag = new double[mats * d];
            double[] rowsum = o.wants(Quantity.ROWSUM) ? new double[mats * d] : null;
            double[] hvp = r.vector == null ? null : new double[mats * d];
            double[] trace = new double[mats];
            double[] eig = o.wants(Quantity.EIGS) ? new double[mats * k] : null;
            double[] vec = o.eigenvectors() ? new double[mats * k * d] : null;
            double[] hutch = new double[o.probes()];
            List<SpectralDensity.Quadrature> spectra = new ArrayList<>();
            SplittableRandom probeRng = new SplittableRandom(o.seed());
            double ss = 0;
            double perMatrixFro = 0;
            double asym = 0;
            double maxResidual = 0;
            double lmin = Double.POSITIVE_INFINITY;
            double lmax = Double.NEGATIVE_INFINITY;
            double hessSeconds = 0;
            boolean closedForm = false;
            boolean asymmetry = false;
            boolean formed = o.wants(Quantity.FULL) || o.wants(Quantity.EIGS) || o.wants(Quantity.DENSITY);
            double[] first = null;
            Npy.Writer w = o.wants(Quantity.FULL) ? Npy.open(dir.resolve(HESSIAN), Npy.F8, new long[] {n, m, d, d}) : null;
            try {
                for (int start = 0; start < n; start += ph.chunk()) {
                    int count = Math.min(ph.chunk(), n - start);
                    r.doing(String.format(Locale.ROOT, "the input Hessians at point %d of %d", start + 1, n));
                    long t0 = System.nanoTime();
                    try (PointHessians.Points p = ph.at(Arrays.copyOfRange(r.points.x(), start * d,
                            (start + count) * d), count, r.points.y() == null ? null : targets(start, count), r.loss)) {
                        closedForm = p.closedForm();
                        // the closed form forms H only for the quantities that need the matrices
                        double[] h = !p.closedForm() || formed ? p.full() : null;
                        double[] fro = p.frobenius();
                        double[] tr = p.traces();
                        checkFinite(h == null ? fro : h, start, m, h == null ? 1 : dd);
                        if (w != null) {
                            w.write(h);
                        }
                        hessSeconds += seconds(t0);
                        if (first == null && h != null) {
                            first = Arrays.copyOfRange(h, 0, dd);
                        }
                        for (int c = 0; c < count * m; c++) {
                            ss += fro[c];
                            perMatrixFro += Math.sqrt(fro[c]);
                            trace[start * m + c] = tr[c];
                        }
                        if (h != null) {
                            asymmetry = true;
                            for (int c = 0; c < count * m; c++) {
                                int base = c * dd;
                                for (int j = 0; j < d; j++) {
                                    for (int kk = 0; kk < d; kk++) {
                                        asym = Math.max(asym, Math.abs(h[base + j * d + kk] - h[base + kk * d + j]));
                                    }
                                }
                            }
                        }
                        int at = start * m * d;
                        if (o.wants(Quantity.DIAG)) {
                            long tq = System.nanoTime();
                            double[] dg = p.diagonals();
                            System.arraycopy(dg, 0, diag, at, dg.length);
                            charge("diag", 0, tq);
                        }
                        // products: exact ones through the closed form without H, or with the formed H
                        SymmetricOperator op = p.operator();
                        if (rowsum != null) {
                            long tq = System.nanoTime();
                            long before = op.products();
                            double[] rs = Curvature.times(op, ones);
                            System.arraycopy(rs, 0, rowsum, at, rs.length);
                            charge("rowsum", op.products() - before, tq);
                        }
                        if (hvp != null) {
                            long tq = System.nanoTime();
                            long before = op.products();
                            double[] hv = Curvature.times(op, r.vector);
                            System.arraycopy(hv, 0, hvp, at, hv.length);
                            charge("hvp", op.products() - before, tq);
                        }
                        if (o.wants(Quantity.TRACE)) {
                            long tq = System.nanoTime();
                            long before = op.products();
                            double[] smp = Hutchinson.samples(op, o.probes(), probeRng);
                            for (int i = 0; i < smp.length; i++) {
                                hutch[i] += smp[i];
                            }
                            charge("trace", op.products() - before, tq);
                        }
                        if (eig != null || o.wants(Quantity.DENSITY)) {
                            try (DenseOperator dense = new DenseOperator(h, count * m, d, r.net.manager())) {
                                if (eig != null) {
                                    long tq = System.nanoTime();
                                    long before = dense.products();
                                    List<Curvature.Eigs> es = Curvature.eigs(dense, k, d, LANCZOS_TOL, o.seed(), vec != null);
                                    for (int c = 0; c < es.size(); c++) {
                                        Lanczos.Eigs e = es.get(c).result();
                                        int mat = start * m + c;
                                        System.arraycopy(e.values(), 0, eig, mat * k, k);
                                        if (vec != null) {
                                            for (int i = 0; i < k; i++) {
                                                System.arraycopy(e.vectors()[i], 0, vec, (mat * k + i) * d, d);
                                            }
                                        }
                                        for (double res : e.residuals()) {
                                            maxResidual = Math.max(maxResidual, res);
                                        }
                                        lmin = Math.min(lmin, e.lambdaMin());
                                        lmax = Math.max(lmax, e.lambdaMax());
                                    }
                                    charge("eigs", dense.products() - before, tq);
                                }
                                if (o.wants(Quantity.DENSITY)) {
                                    long tq = System.nanoTime();
                                    long before = dense.products();
                                    spectra.add(SpectralDensity.of(dense, o.probes(), d, 1, o.seed()));
                                    charge("density", dense.products() - before, tq);
                                }
                            }
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
            String method = (closedForm
                    ? "exact: the closed-form pass (Jacobians of the pre-activations forward, adjoints backward, "
                            + "H = sum of J^T diag(sigma'' c) J)"
                    : "exact: Taylor-mode forward pass (value, Jacobian and Hessian carried through the layers)")
                    + (r.loss == null ? "" : ", composed with the " + r.loss + " loss of each point");
            long[] shape3 = {n, m, d};
            r.summary.put("dimension", d);
            r.summary.put("matrices_per_point", m);
            r.summary.put("frobenius_norm", Math.sqrt(ss));
            r.summary.put("frobenius_norm_mean", perMatrixFro / mats);
            if (asymmetry) {
                r.summary.put("max_asymmetry", asym);
            }
            r.summary.put("trace", sum(trace));
            r.timings.put("hessian_seconds", hessSeconds);
            if (o.wants(Quantity.FULL)) {
                r.files.add(HESSIAN);
                Map<String, Object> q = r.quantity("full", method + "; streamed to " + HESSIAN, 0, hessSeconds);
                q.put("shape", new long[] {n, m, d, d});
                q.put("dtype", "float64");
            }
            String onOp = closedForm ? "; products R^T (w . (R v)) with the pass's rows R and weights w, without "
                    + "forming H: " : "; then, on the " + d + " x " + d + " matrices: ";
            if (o.wants(Quantity.DIAG)) {
                Npy.write(dir.resolve(DIAG), diag, shape3);
                r.files.add(DIAG);
                quantity("diag", method + (closedForm ? "; the diagonal sum_a w_a R[a, j]^2 of the pass's rows R and "
                        + "weights w, without forming H" : onOp + "their diagonals")).put("shape", shape3);
            }
            if (rowsum != null) {
                Npy.write(dir.resolve(ROWSUM), rowsum, shape3);
                r.files.add(ROWSUM);
                quantity("rowsum", method + onOp + "row sums H·1").put("shape", shape3);
            }
            if (hvp != null) {
                Npy.write(dir.resolve(HVP), hvp, shape3);
                r.files.add(HVP);
                quantity("hvp", method + onOp + "products H·v, v from " + o.vector()).put("shape", shape3);
            }
            if (o.wants(Quantity.TRACE)) {
                Hutchinson.Estimate e = Hutchinson.Estimate.of(hutch);
                Map<String, Object> q = quantity("trace", (closedForm ? "exact: sum_a w_a |R[a, :]|^2 from the "
                        + "closed-form pass, without forming H" : "exact: the sum of the diagonal of every Hessian (free: "
                        + "the matrices are formed)") + "; estimate: Hutchinson with " + o.probes() + " Rademacher probes (seed "
                        + o.seed() + ") over all " + mats + " matrices at once, of the total over points and "
                        + (r.loss == null ? "outputs" : "the loss"));
                q.put("exact", sum(trace));
                q.put("exact_method", closedForm ? "closed form" : "sum of the diagonal");
                q.put("hutchinson", e.trace());
                q.put("hutchinson_standard_error", e.standardError());
                q.put("probes", o.probes());
                q.put("deviation_in_standard_errors", (e.trace() - sum(trace)) / e.standardError());
                q.put("matrix_products", (long) o.probes() * mats);
                if (trace.length <= 10_000) {
                    q.put("values", InputInspection.split(trace, n, m));
                }
            }
            if (eig != null) {
                long[] shape = {n, m, k};
                Npy.write(dir.resolve(EIGENVALUES), eig, shape);
                r.files.add(EIGENVALUES);
                if (vec != null) {
                    Npy.write(dir.resolve(EIGENVECTORS), vec, new long[] {n, m, k, d});
                    r.files.add(EIGENVECTORS);
                }
                Map<String, Object> q = quantity("eigs", "exact: the dense symmetric eigen-decomposition (EJML) of "
                        + "every d x d Hessian, top " + k + " by magnitude");
                q.put("shape", shape);
                q.put("lambda_max", lmax);
                q.put("lambda_min", lmin);
                q.put("max_residual", maxResidual);
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
            if (!spectra.isEmpty()) {
                // the broadened curve over every matrix's nodes is most of density's time at many points
                long tq = System.nanoTime();
                SpectralDensity.Quadrature all = SpectralDensity.concat(spectra);
                writeDensity(r, dir, all, all.defaultSigma());
                charge("density", 0, tq);
                Map<String, Object> q = quantity("density", "exact eigenvalues of every Hessian (as SLQ with d = " + d
                        + " steps), averaged over the " + mats + " matrices, Gaussian broadening");
                q.put("sigma", all.defaultSigma());
                q.put("support", new double[] {all.min(), all.max()});
            }
            if (first != null && o.wants(Quantity.FULL)) {
                double[][] a = split(first, d, d);
                Plots.heatmap(dir.resolve(HESSIAN_PLOT), r.s.name() + ": " + (r.loss == null
                        ? "output 1" : r.loss + " loss") + " Hessian w.r.t. the input at point 1", a, new int[0]);
                r.files.add(HESSIAN_PLOT);
            }
        }
    }

    /** A quantity's record: its products (on the d × d matrices) and its seconds, the Taylor passes excluded. */
    private Map<String, Object> quantity(String name, String method) {
        double[] c = cost.getOrDefault(name, new double[2]);
        Map<String, Object> q = r.quantity(name, method, (long) c[0], c[1]);
        q.put("hessian_seconds", r.timings.get("hessian_seconds"));
        return q;
    }

    /** Refuses Hessians that are not finite: NaN or infinite weights or points give nothing to inspect. */
    private void checkFinite(double[] h, int start, int m, int dd) {
        for (int i = 0; i < h.length; i++) {
            if (!Double.isFinite(h[i])) {
                int point = start + i / (m * dd);
                throw new InspectException(String.format(Locale.ROOT, "the input Hessian at point %d (of %s) is %s: "
                        + "the weights or the point hold values that are not finite; nothing was computed", point + 1,
                        r.points.source(), h[i]));
            }
        }
    }

    double[] targets(int start, int count) {
        int t = r.points.y().length / r.points.n();
        return Arrays.copyOfRange(r.points.y(), start * t, (start + count) * t);
    }

    static double[][] split(double[] values, int rows, int cols) {
        double[][] out = new double[rows][];
        for (int i = 0; i < rows; i++) {
            out[i] = Arrays.copyOfRange(values, i * cols, (i + 1) * cols);
        }
        return out;
    }
}
