package dev.hesstrain.inspect;

import static dev.hesstrain.inspect.InspectJob.DIAG;
import static dev.hesstrain.inspect.InspectJob.EIGENVALUES;
import static dev.hesstrain.inspect.InspectJob.EIGENVALUES_PLOT;
import static dev.hesstrain.inspect.InspectJob.EIGENVECTORS;
import static dev.hesstrain.inspect.InspectJob.HESSIAN;
import static dev.hesstrain.inspect.InspectJob.HESSIAN_PLOT;
import static dev.hesstrain.inspect.InspectJob.HVP;
import static dev.hesstrain.inspect.InspectJob.ROWSUM;
import static dev.hesstrain.inspect.InspectRun.seconds;
import static dev.hesstrain.inspect.InspectRun.sum;
import static dev.hesstrain.inspect.InspectRun.writeDensity;

import dev.hesstrain.hessian.Hutchinson;
import dev.hesstrain.hessian.PointHessians;
import dev.hesstrain.hessian.SpectralDensity;
import dev.hesstrain.hessian.SymmetricEigen;
import dev.hesstrain.model.Network;
import dev.hesstrain.runs.Npy;
import dev.hesstrain.runs.Plots;
import java.io.IOException;
import java.nio.file.Path;
import java.util.Arrays;
import java.util.Map;
import java.util.SplittableRandom;

/** Hessians with respect to the input, of every output or of each point's loss. */
final class InputInspection {
    final InspectRun r;
    final Path dir;

    InputInspection(InspectRun r, Path dir) {
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
}
