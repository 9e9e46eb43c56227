package dev.hesstrain.hessian;

import ai.djl.ndarray.NDArray;
import ai.djl.ndarray.NDManager;
import ai.djl.ndarray.types.Shape;
import java.util.SplittableRandom;

/**
 * Hutchinson's trace estimator over a {@link SymmetricOperator}: the mean of zᵀHz over Rademacher
 * probes z (entries ±1 with equal probability, drawn in order from a {@link SplittableRandom}),
 * with its standard error. For a batch of matrices a probe spans all of them, so the estimate is of
 * the total trace (the trace of the block-diagonal whole).
 */
public final class Hutchinson {
    private Hutchinson() {}

    /** The estimate, its standard error (NaN for one probe), and the probe values. */
    public record Estimate(double trace, double standardError, double[] samples) {

        /** The mean and standard error of probe values zᵀHz. */
        public static Estimate of(double[] samples) {
            int probes = samples.length;
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
    }

    /** Estimates the trace from {@code probes} probes drawn from {@code new SplittableRandom(seed)}. */
    public static Estimate estimate(SymmetricOperator op, int probes, long seed) {
        return Estimate.of(samples(op, probes, new SplittableRandom(seed)));
    }

    /**
     * zᵀHz for each of {@code probes} probes, summed over the matrices of the batch; the probes are
     * drawn one after another from {@code rng}, so they do not depend on the block size. Estimates
     * over several operators (chunks of points) add their samples.
     */
    public static double[] samples(SymmetricOperator op, int probes, SplittableRandom rng) {
        if (probes < 1) {
            throw new IllegalArgumentException("probes must be positive, found " + probes);
        }
        int n = op.batch() * op.dim();
        int step = Math.max(1, op.blockSize());
        double[] samples = new double[probes];
        for (int start = 0; start < probes; start += step) {
            int count = Math.min(step, probes - start);
            double[] z = new double[n * count];
            for (int c = 0; c < count; c++) {
                for (int i = 0; i < n; i++) {
                    z[i * count + c] = rng.nextBoolean() ? 1 : -1;
                }
            }
            try (NDManager m = op.manager().newSubManager()) {
                NDArray zs = m.create(z, new Shape(op.batch(), op.dim(), count));
                // zᵀHz per probe on the engine: only the k values come back
                double[] s = zs.mul(Curvature.times(op, zs)).sum(new int[] {0, 1}).toDoubleArray();
                System.arraycopy(s, 0, samples, start, count);
            }
        }
        return samples;
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
