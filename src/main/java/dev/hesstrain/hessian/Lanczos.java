package dev.hesstrain.hessian;

import java.util.ArrayList;
import java.util.List;
import java.util.SplittableRandom;

/**
 * The Lanczos method with full reorthogonalisation, in float64 Java arrays, over a
 * {@link SymmetricOperator} of batch one. Several independent chains can run in lockstep so that
 * their products are computed in one block (one vector per chain).
 *
 * <p>When a chain's Krylov space is exhausted (breakdown), it continues with a fresh random
 * vector orthogonal to its basis, so that after {@code dim} steps the tridiagonal matrix holds the
 * whole spectrum, multiplicities included.
 */
public final class Lanczos {
    private Lanczos() {}

    /**
     * Top eigenvalues by magnitude, both ends of the spectrum, and how well they converged:
     * {@code converged} is judged by the reported {@code residuals} (each at most the tolerance
     * times the largest magnitude); {@code endResiduals} are those of λ_min and λ_max.
     */
    public record Eigs(
            double[] values,
            double[][] vectors,
            double[] residuals,
            double lambdaMin,
            double lambdaMax,
            double[] endResiduals,
            int steps,
            boolean converged) {}

    /** One Lanczos chain: its orthonormal basis and tridiagonal coefficients. */
    public static final class Chain {
        private final int dim;
        private final SplittableRandom rng;
        private final List<double[]> basis = new ArrayList<>();
        private final List<Double> alpha = new ArrayList<>();
        private final List<Double> beta = new ArrayList<>();
        private double lastBeta;
        private boolean exhausted;

        Chain(double[] start, SplittableRandom rng) {
            this.dim = start.length;
            this.rng = rng;
            double[] q = start.clone();
            double norm = norm(q);
            if (!(norm > 0)) {
                throw new IllegalArgumentException("the start vector is zero");
            }
            scale(q, 1 / norm);
            basis.add(q);
        }

        /** The vector the next product is needed for. */
        double[] current() {
            return basis.get(alpha.size());
        }

        int steps() {
            return alpha.size();
        }

        boolean exhausted() {
            return exhausted;
        }

        /** Takes w = A q for the current q and extends the basis. */
        void step(double[] w) {
            int j = alpha.size();
            double[] q = basis.get(j);
            double a = Curvature.dot(q, w);
            double[] r = w.clone();
            axpy(-a, q, r);
            if (j > 0) {
                axpy(-beta.get(j - 1), basis.get(j - 1), r);
            }
            for (int pass = 0; pass < 2; pass++) {
                for (double[] qi : basis) {
                    axpy(-Curvature.dot(qi, r), qi, r);
                }
            }
            alpha.add(a);
            double b = norm(r);
            double scaleEstimate = Math.max(Math.abs(a), Math.max(j > 0 ? beta.get(j - 1) : 0, norm(w)));
            if (j + 1 >= dim) {
                lastBeta = b <= 1e-10 * scaleEstimate ? 0 : b;
                exhausted = true;
                return;
            }
            if (b <= 1e-10 * Math.max(scaleEstimate, Double.MIN_NORMAL)) {
                // invariant subspace: restart with a random vector orthogonal to the basis
                double[] fresh = orthogonalRandom();
                if (fresh == null) {
                    lastBeta = 0;
                    exhausted = true;
                    return;
                }
                beta.add(0.0);
                basis.add(fresh);
            } else {
                beta.add(b);
                scale(r, 1 / b);
                basis.add(r);
            }
            lastBeta = beta.get(beta.size() - 1);
        }

        private double[] orthogonalRandom() {
            for (int attempt = 0; attempt < 5; attempt++) {
                double[] v = new double[dim];
                for (int i = 0; i < dim; i++) {
                    v[i] = rng.nextBoolean() ? 1 : -1;
                }
                for (int pass = 0; pass < 2; pass++) {
                    for (double[] qi : basis) {
                        axpy(-Curvature.dot(qi, v), qi, v);
                    }
                }
                double n = norm(v);
                if (n > 1e-8 * Math.sqrt(dim)) {
                    scale(v, 1 / n);
                    return v;
                }
            }
            return null;
        }

        /** The eigen-decomposition of the tridiagonal matrix so far. */
        public SymmetricEigen.Result ritz() {
            int m = alpha.size();
            double[] a = new double[m];
            double[] b = new double[Math.max(m - 1, 0)];
            for (int i = 0; i < m; i++) {
                a[i] = alpha.get(i);
                if (i < m - 1) {
                    b[i] = beta.get(i);
                }
            }
            return SymmetricEigen.tridiagonal(a, b);
        }

        /** |β_m| · |last component of Ritz vector i|: the residual norm of Ritz pair i. */
        double residual(SymmetricEigen.Result r, int i) {
            int m = alpha.size();
            return Math.abs(lastBeta) * Math.abs(r.vectors()[m - 1][i]);
        }

        /** The Ritz vector for column i of the tridiagonal eigenvectors. */
        double[] ritzVector(SymmetricEigen.Result r, int i) {
            double[] y = new double[dim];
            for (int j = 0; j < alpha.size(); j++) {
                axpy(r.vectors()[j][i], basis.get(j), y);
            }
            return y;
        }
    }

    /**
     * Runs the chains in lockstep for {@code steps} steps (fewer for a chain whose space is
     * exhausted); {@code op} gets the current vector of every live chain.
     */
    public static void run(List<Chain> chains, SymmetricOperator op, int steps) {
        for (int s = 0; s < steps; s++) {
            if (!advance(chains, op)) {
                return;
            }
        }
    }

    private static boolean advance(List<Chain> chains, SymmetricOperator op) {
        List<Chain> live = new ArrayList<>();
        for (Chain c : chains) {
            if (!c.exhausted()) {
                live.add(c);
            }
        }
        if (live.isEmpty()) {
            return false;
        }
        double[][] vs = new double[live.size()][];
        for (int i = 0; i < vs.length; i++) {
            vs[i] = live.get(i).current();
        }
        double[][] ws = Curvature.times(op, vs);
        for (int i = 0; i < vs.length; i++) {
            live.get(i).step(ws[i]);
        }
        return true;
    }

    /** A new chain from {@code start}; restarts draw from {@code rng}. */
    public static Chain chain(double[] start, SplittableRandom rng) {
        return new Chain(start, rng);
    }

    /**
     * The {@code k} eigenvalues of largest magnitude of a symmetric operator (batch one), and its
     * smallest and largest eigenvalues, by Lanczos from a seeded random start. It stops when every
     * reported Ritz value and both ends have residual at most {@code tol} times the largest
     * magnitude, or after {@code maxSteps} products (at most the dimension, where it is exact).
     */
    public static Eigs topK(SymmetricOperator op, int k, int maxSteps, double tol, long seed, boolean withVectors) {
        Curvature.requireSingle(op);
        int dim = op.dim();
        if (k < 1 || k > dim) {
            throw new IllegalArgumentException("k must be in 1.." + dim + ", found " + k);
        }
        SplittableRandom rng = new SplittableRandom(seed);
        double[] start = new double[dim];
        for (int i = 0; i < dim; i++) {
            start[i] = rng.nextGaussian();
        }
        Chain chain = new Chain(start, rng);
        List<Chain> one = List.of(chain);
        int limit = Math.min(Math.max(maxSteps, k), dim);
        int every = 1;
        SymmetricEigen.Result r = null;
        while (chain.steps() < limit && !chain.exhausted()) {
            advance(one, op);
            int m = chain.steps();
            if (m >= k && (m % every == 0 || m == limit || chain.exhausted())) {
                r = chain.ritz();
                if (chain.exhausted() || (within(chain, r, k, tol) && ends(chain, r, tol))) {
                    break;
                }
                every = Math.max(1, m / 10);
            }
        }
        if (r == null || r.values().length != chain.steps()) {
            r = chain.ritz();
        }
        int[] order = SymmetricEigen.byMagnitude(r.values());
        int kk = Math.min(k, order.length);
        double[] values = new double[kk];
        double[] residuals = new double[kk];
        double[][] vectors = withVectors ? new double[kk][] : null;
        for (int i = 0; i < kk; i++) {
            values[i] = r.values()[order[i]];
            residuals[i] = chain.residual(r, order[i]);
            if (withVectors) {
                vectors[i] = chain.ritzVector(r, order[i]);
            }
        }
        double[] all = r.values();
        double[] endResiduals = {chain.residual(r, 0), chain.residual(r, all.length - 1)};
        boolean converged = chain.exhausted() || within(chain, r, k, tol);
        return new Eigs(values, vectors, residuals, all[0], all[all.length - 1], endResiduals, chain.steps(), converged);
    }

    private static double scale(SymmetricEigen.Result r) {
        double[] v = r.values();
        return Math.max(Math.abs(v[0]), Math.abs(v[v.length - 1]));
    }

    /** Whether the top k Ritz values by magnitude have converged. */
    private static boolean within(Chain chain, SymmetricEigen.Result r, int k, double tol) {
        double scale = scale(r);
        int[] order = SymmetricEigen.byMagnitude(r.values());
        for (int i = 0; i < Math.min(k, order.length); i++) {
            if (chain.residual(r, order[i]) > tol * scale) {
                return false;
            }
        }
        return true;
    }

    /** Whether the smallest and largest Ritz values have converged. */
    private static boolean ends(Chain chain, SymmetricEigen.Result r, double tol) {
        double scale = scale(r);
        return chain.residual(r, 0) <= tol * scale && chain.residual(r, r.values().length - 1) <= tol * scale;
    }

    // ---- small vector helpers ----------------------------------------------------------------

    static double norm(double[] a) {
        return Math.sqrt(Curvature.dot(a, a));
    }

    static void axpy(double alpha, double[] x, double[] y) {
        for (int i = 0; i < x.length; i++) {
            y[i] += alpha * x[i];
        }
    }

    static void scale(double[] a, double s) {
        for (int i = 0; i < a.length; i++) {
            a[i] *= s;
        }
    }
}
