package dev.hesstrain.hessian;

import dev.hesstrain.model.Network;
import dev.hesstrain.spec.LossKind;
import java.util.List;
import java.util.SplittableRandom;

/**
 * Sharpness while training: the largest eigenvalue λ_max of the Hessian of the data loss (no
 * penalty) w.r.t. all parameters, on a fixed set of training points, by Lanczos over exact
 * Hessian-vector products, warm-started from the previous measurement's top eigenvector.
 *
 * <p>The products are {@link ParamCurvature#hessianMultiply} (forward-over-reverse through the
 * layers' own derivatives: no autograd graph, so nothing leaks from one measurement to the next);
 * a model the pass cannot take uses reverse-over-reverse products ({@link ParamHessian}) instead.
 * A measurement stops when the top Ritz pair's residual ‖H v − λ v‖ is at most {@code tolerance}
 * times the largest Ritz magnitude, or after {@code maxSteps} products.
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
    private double[] previous;

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
        boolean warm = previous != null && previous.length == p;
        double[] start = warm ? previous : gaussian(p);
        if (ParamCurvature.refusal(net, loss) == null) {
            try (ParamCurvature pass = new ParamCurvature(net, x, n, y, loss, 0, 0)) {
                return run(new BackpropOperator(pass, BackpropOperator.Kind.HESSIAN, net.manager(), 1), start, warm, t0);
            }
        }
        try (ParamHessian h = new ParamHessian(net, x, n, y, loss, 1)) {
            return run(new ParamHessianOperator(h, net.manager()), start, warm, t0);
        }
    }

    /** The top eigenvector of the last measurement (the next one's start), or null. */
    public double[] vector() {
        return previous == null ? null : previous.clone();
    }

    private Measurement run(SymmetricOperator op, double[] start, boolean warm, long t0) {
        int limit = Math.min(maxSteps, op.dim());
        try (Lanczos.Chain chain = Lanczos.chain(op, start, limit, rng)) {
            SymmetricEigen.Result r = null;
            double residual = Double.POSITIVE_INFINITY;
            boolean converged = false;
            while (chain.steps() < limit && !chain.exhausted()) {
                Lanczos.run(List.of(chain), op, 1);
                r = chain.ritz();
                double[] v = r.values();
                int top = v.length - 1;
                residual = chain.residual(r, top);
                double scale = Math.max(Math.abs(v[0]), Math.abs(v[top]));
                if (chain.exhausted() || residual <= tolerance * scale) {
                    converged = true;
                    break;
                }
            }
            int top = r.values().length - 1;
            previous = chain.ritzVector(r, top);
            return new Measurement(r.values()[top], chain.steps(), op.products(), (System.nanoTime() - t0) / 1e9, residual,
                    converged, warm);
        }
    }

    private double[] gaussian(int p) {
        double[] v = new double[p];
        for (int i = 0; i < p; i++) {
            v[i] = rng.nextGaussian();
        }
        return v;
    }
}
