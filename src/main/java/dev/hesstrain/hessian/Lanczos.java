package dev.hesstrain.hessian;

import ai.djl.ndarray.NDArray;
import ai.djl.ndarray.NDArrays;
import ai.djl.ndarray.NDList;
import ai.djl.ndarray.NDManager;
import ai.djl.ndarray.index.NDIndex;
import ai.djl.ndarray.types.DataType;
import ai.djl.ndarray.types.Shape;
import dev.hesstrain.model.Scopes;
import java.util.ArrayList;
import java.util.List;
import java.util.SplittableRandom;

/**
 * The Lanczos method with full reorthogonalisation, in float64 on the engine, over a
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

    /**
     * One Lanczos chain: its orthonormal basis, held on the engine as rows of one float64 array
     * [capacity, dim] (so that a product never copies a vector through the JVM), and its
     * tridiagonal coefficients. Close it to free the basis.
     */
    public static final class Chain implements AutoCloseable {
        private final int dim;
        private final SplittableRandom rng;
        private final NDManager manager;
        private final NDArray basis;
        private int size;
        private final List<Double> alpha = new ArrayList<>();
        private final List<Double> beta = new ArrayList<>();
        private double lastBeta;
        private boolean exhausted;

        Chain(NDManager parent, double[] start, int steps, SplittableRandom rng) {
            this.dim = start.length;
            this.rng = rng;
            double norm = Math.sqrt(Curvature.dot(start, start));
            if (!(norm > 0)) {
                throw new IllegalArgumentException("the start vector is zero");
            }
            this.manager = parent.newSubManager();
            int capacity = Math.min(steps, dim) + 1;
            this.basis = manager.zeros(new Shape(capacity, dim), DataType.FLOAT64);
            try (NDManager s = manager.newSubManager()) {
                basis.set(new NDIndex(0), s.create(start).div(norm));
            }
            size = 1;
        }

        /** The vector the next product is needed for, [dim], attached to {@code step}. */
        NDArray current(NDManager step) {
            Scopes.tempAttach(step, basis);
            return basis.get(alpha.size());
        }

        int steps() {
            return alpha.size();
        }

        boolean exhausted() {
            return exhausted;
        }

        /** r minus its projection on the basis, twice (classical Gram–Schmidt, repeated). */
        private NDArray orthogonalised(NDArray r) {
            NDArray q = basis.get(new NDIndex("0:" + size)); // [size, dim]
            for (int pass = 0; pass < 2; pass++) {
                r = r.sub(q.transpose().matMul(q.matMul(r.reshape(dim, 1))).reshape(dim));
            }
            return r;
        }

        /** Takes w = A q [dim] for the current q and extends the basis. */
        void step(NDArray w) {
            int j = alpha.size();
            try (NDManager s = manager.newSubManager()) {
                Scopes.tempAttach(s, basis, w);
                NDArray q = basis.get(j);
                NDArray r = w.toType(DataType.FLOAT64, false);
                double a = q.mul(r).sum().getDouble();
                double wNorm = Math.sqrt(r.mul(r).sum().getDouble());
                r = r.sub(q.mul(a));
                if (j > 0) {
                    r = r.sub(basis.get(j - 1).mul(beta.get(j - 1)));
                }
                r = orthogonalised(r);
                alpha.add(a);
                double b = Math.sqrt(r.mul(r).sum().getDouble());
                double scaleEstimate = Math.max(Math.abs(a), Math.max(j > 0 ? beta.get(j - 1) : 0, wNorm));
                if (j + 1 >= dim) {
                    lastBeta = b <= 1e-10 * scaleEstimate ? 0 : b;
                    exhausted = true;
                    return;
                }
                if (size >= basis.getShape().get(0)) {
                    lastBeta = b; // the basis is full: no more steps will be taken
                    return;
                }
                if (b <= 1e-10 * Math.max(scaleEstimate, Double.MIN_NORMAL)) {
                    // invariant subspace: restart with a random vector orthogonal to the basis
                    NDArray fresh = orthogonalRandom(s);
                    if (fresh == null) {
                        lastBeta = 0;
                        exhausted = true;
                        return;
                    }
                    beta.add(0.0);
                    basis.set(new NDIndex(size++), fresh);
                } else {
                    beta.add(b);
                    basis.set(new NDIndex(size++), r.div(b));
                }
                lastBeta = beta.get(beta.size() - 1);
            }
        }

        private NDArray orthogonalRandom(NDManager s) {
            for (int attempt = 0; attempt < 5; attempt++) {
                double[] v = new double[dim];
                for (int i = 0; i < dim; i++) {
                    v[i] = rng.nextBoolean() ? 1 : -1;
                }
                NDArray r = orthogonalised(s.create(v));
                double n = Math.sqrt(r.mul(r).sum().getDouble());
                if (n > 1e-8 * Math.sqrt(dim)) {
                    return r.div(n);
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

        /** The Ritz vector for column i of the tridiagonal eigenvectors: Qᵀ y on the engine. */
        double[] ritzVector(SymmetricEigen.Result r, int i) {
            int m = alpha.size();
            double[] y = new double[m];
            for (int j = 0; j < m; j++) {
                y[j] = r.vectors()[j][i];
            }
            try (NDManager s = manager.newSubManager()) {
                Scopes.tempAttach(s, basis);
                NDArray q = basis.get(new NDIndex("0:" + m));
                return q.transpose().matMul(s.create(y).reshape(m, 1)).reshape(dim).toDoubleArray();
            }
        }

        @Override
        public void close() {
            manager.close();
        }
    }

    /**
     * Runs the chains in lockstep for {@code steps} steps (fewer for a chain whose space is
     * exhausted); {@code op} gets the current vector of every live chain in one block.
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
        try (NDManager step = op.manager().newSubManager()) {
            NDList vs = new NDList();
            for (Chain c : live) {
                vs.add(c.current(step));
            }
            NDArray block = NDArrays.stack(vs, 1).expandDims(0); // [1, dim, live]
            NDArray ws = Curvature.times(op, block).reshape(op.dim(), live.size());
            for (int i = 0; i < live.size(); i++) {
                live.get(i).step(ws.get(new NDIndex(":, " + i)));
            }
        }
        return true;
    }

    /**
     * A new chain from {@code start} on the engine of {@code op}, with room for {@code steps}
     * steps; restarts draw from {@code rng}.
     */
    public static Chain chain(SymmetricOperator op, double[] start, int steps, SplittableRandom rng) {
        return new Chain(op.manager(), start, steps, rng);
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
        int limit = Math.min(Math.max(maxSteps, k), dim);
        try (Chain chain = new Chain(op.manager(), start, limit, rng)) {
            return topK(op, chain, k, limit, tol, withVectors);
        }
    }

    private static Eigs topK(SymmetricOperator op, Chain chain, int k, int limit, double tol, boolean withVectors) {
        List<Chain> one = List.of(chain);
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
}
