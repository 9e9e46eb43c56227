package dev.hesstrain.hessian;

import java.util.SplittableRandom;
import java.util.function.UnaryOperator;

/**
 * Hutchinson's trace estimator: the mean of zᵀHz over Rademacher probes z (entries ±1 with equal
 * probability, drawn from {@code new SplittableRandom(seed)}), with its standard error.
 */
public final class Hutchinson {
    private Hutchinson() {}

    /** The estimate, its standard error (NaN for one probe), and the probe values. */
    public record Estimate(double trace, double standardError, double[] samples) {}

    /**
     * Estimates the trace of a symmetric operator of dimension {@code dim} from {@code probes}
     * products, {@code batch} at a time ({@code op} receives up to {@code batch} vectors).
     */
    public static Estimate estimate(UnaryOperator<double[][]> op, int dim, int probes, int batch, long seed) {
        if (probes < 1) {
            throw new IllegalArgumentException("probes must be positive, found " + probes);
        }
        SplittableRandom rng = new SplittableRandom(seed);
        double[] samples = new double[probes];
        for (int start = 0; start < probes; start += batch) {
            int count = Math.min(batch, probes - start);
            double[][] zs = new double[count][];
            for (int c = 0; c < count; c++) {
                zs[c] = rademacher(rng, dim);
            }
            double[][] hz = op.apply(zs);
            for (int c = 0; c < count; c++) {
                samples[start + c] = Lanczos.dot(zs[c], hz[c]);
            }
        }
        double mean = 0;
        for (double s : samples) {
            mean += s;
        }
        mean /= probes;
        double se = Double.NaN;
        if (probes > 1) {
            double ss = 0;
            for (double s : samples) {
                ss += (s - mean) * (s - mean);
            }
            se = Math.sqrt(ss / (probes - 1) / probes);
        }
        return new Estimate(mean, se, samples);
    }

    /** A vector of independent ±1 entries. */
    static double[] rademacher(SplittableRandom rng, int dim) {
        double[] z = new double[dim];
        for (int i = 0; i < dim; i++) {
            z[i] = rng.nextBoolean() ? 1 : -1;
        }
        return z;
    }
}
