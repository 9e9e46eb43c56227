package dev.hesstrain.hessian;

import dev.hesstrain.model.Network;
import dev.hesstrain.spec.LossKind;
import java.util.ArrayList;
import java.util.List;
import java.util.SplittableRandom;

/**
 * Sharpness while training: the largest eigenvalue λ_max of the Hessian of the data loss (no
 * penalty) w.r.t. all parameters, on a fixed set of training points, by a Krylov method over exact
 * Hessian-vector products (Rayleigh-Ritz on the basis and its images, one vector per pass: Lanczos
 * with full reorthogonalisation and a computed residual), warm-started from the previous
 * measurement's top Ritz vector.
 *
 * <p>The products are {@link ParamCurvature#hessianMultiply} (forward-over-reverse through the
 * layers' own derivatives: no autograd graph, so nothing leaks from one measurement to the next);
 * a model the pass cannot take uses reverse-over-reverse products ({@link ParamHessian}) instead.
 * A measurement stops when the top Ritz pair's residual ‖H v − λ v‖ is at most {@code tolerance}
 * times the largest Ritz magnitude, or after {@code maxSteps} products. The products of one
 * measurement share the pass's forward sweep and gradients ({@link ParamCurvature} prepares them once).
 *
 * <pre>{@code
 * Sharpness sharpness = new Sharpness(Sharpness.DEFAULT_TOLERANCE, Sharpness.DEFAULT_MAX_STEPS, seed);
 * // at the end of every K-th epoch and of the last, on the first M training points:
 * Sharpness.Measurement s = sharpness.measure(net, xFirstM, m, yFirstM, spec.loss());
 * s.value(); s.iterations(); s.hvps(); s.seconds();
 * }</pre>
 *
 * One instance per run (it holds the warm start); not thread-safe.
 */
public final class Sharpness {
    /** Relative residual of the top Ritz pair at which a measurement stops. */
    public static final double DEFAULT_TOLERANCE = 1e-3;
    /** Products at most per measurement. */
    public static final int DEFAULT_MAX_STEPS = 100;
    /** Training points used by default (all of them, up to this many). */
    public static final int DEFAULT_SAMPLES = 1000;
    /**
     * Vectors per pass of the operator. One: a block of b vectors gives b Krylov directions per
     * pass, but the top eigenvalue's convergence is governed by the number of passes (the degree of
     * the polynomial in H), and with a warm start that barely fell with b (sin2pi: 4.8, 4.7, 4.2, 4.0
     * passes for b = 1, 2, 4, 8; digits 9.9, 8.2, 6.3, 5.3) while each pass cost more (digits: 1.5,
     * 2.7, 4.1, 8.3 ms), so b = 1 was fastest on both (6.5 against 9.7 ms, 12.9 against 32 ms).
     */
    public static final int BLOCK = 1;

    /**
     * One measurement.
     *
     * @param value λ_max, the largest (algebraic) eigenvalue
     * @param iterations Lanczos steps taken
     * @param hvps Hessian-vector products made (one per step)
     * @param seconds wall time of the measurement
     * @param residual ‖H v − λ v‖ of the reported pair
     * @param converged whether the residual met the tolerance
     * @param warm whether it started from the previous eigenvector
     */
    public record Measurement(double value, int iterations, long hvps, double seconds, double residual,
            boolean converged, boolean warm) {}

    private final double tolerance;
    private final int maxSteps;
    private final SplittableRandom rng;
    /** The last measurement's top Ritz vectors, best first (the next one's first block), or null. */
    private double[][] previous;

    public Sharpness(double tolerance, int maxSteps, long seed) {
        if (!(tolerance > 0) || maxSteps < 1) {
            throw new IllegalArgumentException("tolerance must be positive and maxSteps at least 1");
        }
        this.tolerance = tolerance;
        this.maxSteps = maxSteps;
        this.rng = new SplittableRandom(seed);
    }

    /**
     * λ_max of the Hessian of {@code loss} over the points x [n, inputs] (row-major) with targets y
     * ([n, outputs] for mse, [n] labels otherwise), at the network's current parameters.
     */
    public Measurement measure(Network net, double[] x, int n, double[] y, LossKind loss) {
        long t0 = System.nanoTime();
        int p = (int) net.parameterCount();
        boolean warm = previous != null && previous[0].length == p;
        if (ParamCurvature.refusal(net, loss) == null) {
            try (ParamCurvature pass = new ParamCurvature(net, x, n, y, loss, 0, 0)) {
                return run(new BackpropOperator(pass, BackpropOperator.Kind.HESSIAN, net.manager(), BLOCK), warm, t0);
            }
        }
        try (ParamHessian h = new ParamHessian(net, x, n, y, loss, 1)) {
            return run(new ParamHessianOperator(h, net.manager()), warm, t0);
        }
    }

    /** The top eigenvector of the last measurement (the next one's start), or null. */
    public double[] vector() {
        return previous == null ? null : previous[0].clone();
    }

    /**
     * Block Rayleigh-Ritz: each pass multiplies a block of up to {@link #BLOCK} orthonormalised
     * vectors at once (one pass of the operator for all of them), the basis V and its images W = H V
     * grow by it, and the Ritz pairs of VᵀW give the estimate; the next block is the residuals H y −
     * θ y of the top Ritz pairs (a block Krylov step). The first block is the previous measurement's
     * top Ritz vectors (a warm start), or random. The residual is computed, not estimated: ‖W s − θ V
     * s‖ for the top pair.
     */
    private Measurement run(SymmetricOperator op, boolean warm, long t0) {
        int p = op.dim();
        int limit = Math.min(maxSteps, p);
        List<double[]> basis = new ArrayList<>();
        List<double[]> images = new ArrayList<>();
        List<double[]> next = new ArrayList<>();
        if (warm) {
            for (double[] v : previous) {
                next.add(v.clone());
            }
        } else {
            for (int j = 0; j < Math.min(BLOCK, limit); j++) {
                next.add(gaussian(p));
            }
        }
        double[][] t = new double[limit][limit];
        long products0 = op.products();
        int passes = 0;
        double value = Double.NaN;
        double residual = Double.POSITIVE_INFINITY;
        boolean converged = false;
        SymmetricEigen.Result eig = null;
        while (true) {
            List<double[]> block = orthonormal(next, basis, Math.min(BLOCK, limit - basis.size()));
            if (block.isEmpty()) {
                break;
            }
            int k = block.size();
            double[] host = new double[p * k];
            for (int j = 0; j < k; j++) {
                double[] v = block.get(j);
                for (int i = 0; i < p; i++) {
                    host[i * k + j] = v[i];
                }
            }
            double[] w = Curvature.times(op, host, k);
            passes++;
            int old = basis.size();
            for (int j = 0; j < k; j++) {
                double[] hv = new double[p];
                for (int i = 0; i < p; i++) {
                    hv[i] = w[i * k + j];
                }
                basis.add(block.get(j));
                images.add(hv);
            }
            int m = basis.size();
            for (int j = old; j < m; j++) {
                for (int i = 0; i <= j; i++) {
                    double tij = (Curvature.dot(basis.get(i), images.get(j)) + Curvature.dot(basis.get(j), images.get(i))) / 2;
                    t[i][j] = tij;
                    t[j][i] = tij;
                }
            }
            double[][] tm = new double[m][];
            for (int i = 0; i < m; i++) {
                tm[i] = java.util.Arrays.copyOf(t[i], m);
            }
            eig = SymmetricEigen.of(tm);
            double[] theta = eig.values();
            value = theta[m - 1];
            double scale = Math.max(Math.abs(theta[0]), Math.abs(theta[m - 1]));
            double[] r = ritzResidual(eig, m - 1, basis, images);
            residual = Math.sqrt(Curvature.dot(r, r));
            if (residual <= tolerance * scale || m >= p) {
                converged = true;
                break;
            }
            if (m >= limit) {
                break;
            }
            next = new ArrayList<>();
            next.add(r);
            for (int j = m - 2; j >= Math.max(0, m - BLOCK); j--) {
                next.add(ritzResidual(eig, j, basis, images));
            }
        }
        int m = basis.size();
        previous = new double[Math.min(BLOCK, m)][];
        for (int j = 0; j < previous.length; j++) {
            previous[j] = ritzVector(eig, m - 1 - j, basis);
        }
        return new Measurement(value, passes, op.products() - products0, (System.nanoTime() - t0) / 1e9, residual,
                converged, warm);
    }

    /** y = V s for Ritz vector j (column j of the eigenvectors of VᵀHV). */
    private static double[] ritzVector(SymmetricEigen.Result eig, int j, List<double[]> basis) {
        return combination(eig, j, basis);
    }

    /** H y − θ y = W s − θ V s for Ritz pair j. */
    private static double[] ritzResidual(SymmetricEigen.Result eig, int j, List<double[]> basis, List<double[]> images) {
        double[] r = combination(eig, j, images);
        double[] y = combination(eig, j, basis);
        double theta = eig.values()[j];
        for (int i = 0; i < r.length; i++) {
            r[i] -= theta * y[i];
        }
        return r;
    }

    private static double[] combination(SymmetricEigen.Result eig, int j, List<double[]> vectors) {
        double[] out = new double[vectors.get(0).length];
        for (int i = 0; i < vectors.size(); i++) {
            double c = eig.vectors()[i][j];
            double[] v = vectors.get(i);
            for (int q = 0; q < out.length; q++) {
                out[q] += c * v[q];
            }
        }
        return out;
    }

    /**
     * Up to {@code count} orthonormal vectors from {@code candidates}, each orthogonalised against
     * the basis and the ones before it (twice: classical Gram-Schmidt repeated); a candidate with
     * nothing left (an invariant subspace) is replaced by a random vector, as a Lanczos restart.
     */
    private List<double[]> orthonormal(List<double[]> candidates, List<double[]> basis, int count) {
        List<double[]> out = new ArrayList<>();
        int p = candidates.get(0).length;
        for (double[] candidate : candidates) {
            if (out.size() >= count) {
                break;
            }
            double[] v = orthogonalised(candidate.clone(), basis, out);
            for (int attempt = 0; v == null && attempt < 5 && basis.size() + out.size() < p; attempt++) {
                v = orthogonalised(gaussian(p), basis, out); // nothing left of it: a random vector in its place
            }
            if (v != null) {
                out.add(v);
            }
        }
        return out;
    }

    /** v orthogonalised against both lists and normalised, or null when less than 1e-8 of its norm is left. */
    private static double[] orthogonalised(double[] v, List<double[]> basis, List<double[]> more) {
        double before = Math.sqrt(Curvature.dot(v, v));
        if (!(before > 0)) {
            return null;
        }
        for (int pass = 0; pass < 2; pass++) {
            for (List<double[]> against : List.of(basis, more)) {
                for (double[] q : against) {
                    double d = Curvature.dot(q, v);
                    for (int i = 0; i < v.length; i++) {
                        v[i] -= d * q[i];
                    }
                }
            }
        }
        double after = Math.sqrt(Curvature.dot(v, v));
        if (!(after > 1e-8 * before)) {
            return null;
        }
        for (int i = 0; i < v.length; i++) {
            v[i] /= after;
        }
        return v;
    }

    private double[] gaussian(int p) {
        double[] v = new double[p];
        for (int i = 0; i < p; i++) {
            v[i] = rng.nextGaussian();
        }
        return v;
    }
}
