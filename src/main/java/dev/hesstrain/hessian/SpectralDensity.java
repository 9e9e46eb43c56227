package dev.hesstrain.hessian;

import java.util.ArrayList;
import java.util.List;
import java.util.SplittableRandom;

/**
 * Spectral density by stochastic Lanczos quadrature (Lin, Saad and Yang 2016; Ghorbani, Krishnan
 * and Xiao 2019): for each normalised Rademacher probe, {@code steps} Lanczos steps give Gauss
 * quadrature nodes (Ritz values) and weights (squared first components of the Ritz vectors); the
 * density is their average, each node broadened by a Gaussian of width σ.
 */
public final class SpectralDensity {
    private SpectralDensity() {}

    /** Quadrature nodes and weights, one row per probe; the weights of a row sum to 1. */
    public record Quadrature(double[][] nodes, double[][] weights, long products) {

        public double min() {
            double m = Double.POSITIVE_INFINITY;
            for (double[] row : nodes) {
                for (double v : row) {
                    m = Math.min(m, v);
                }
            }
            return m;
        }

        public double max() {
            double m = Double.NEGATIVE_INFINITY;
            for (double[] row : nodes) {
                for (double v : row) {
                    m = Math.max(m, v);
                }
            }
            return m;
        }

        /** The default broadening: 1% of the spectrum's width (or of its magnitude when it is a point). */
        public double defaultSigma() {
            double width = max() - min();
            double s = width > 0 ? 0.01 * width : 0.01 * Math.max(Math.abs(max()), 1e-12);
            return s;
        }

        /**
         * Gaussians are cut at this many σ from their node: there e^(−z²/2) is 1.3e-14 of the
         * node's peak, below float64's resolution of the sum near that node.
         */
        static final double CUT = 8;

        /**
         * The broadened density on {@code points} grid values from min − 5σ to max + 5σ: {grid, density}.
         * Each node adds its Gaussian to the grid values within {@link #CUT}σ of it only, the values
         * e^(−(t_g − x)²/2σ²) along the uniform grid by a recurrence of products (two exp calls per
         * node: the ratio of neighbours changes by the constant factor e^(−h²/σ²)): 400,000 nodes on
         * 1,000 points took 4e8 exp calls before.
         */
        public double[][] curve(int points, double sigma) {
            double lo = min() - 5 * sigma;
            double hi = max() + 5 * sigma;
            double[] grid = new double[points];
            double[] density = new double[points];
            double h = (hi - lo) / Math.max(1, points - 1);
            for (int g = 0; g < points; g++) {
                grid[g] = lo + (hi - lo) * g / Math.max(1, points - 1);
            }
            double norm = 1 / (Math.sqrt(2 * Math.PI) * sigma * nodes.length);
            double step = h / sigma;
            double q = Math.exp(-step * step); // ratio of successive ratios
            for (int p = 0; p < nodes.length; p++) {
                for (int i = 0; i < nodes[p].length; i++) {
                    double w = weights[p][i];
                    if (w == 0) {
                        continue;
                    }
                    double x = nodes[p][i];
                    int first = h > 0 ? Math.max(0, (int) Math.ceil((x - CUT * sigma - lo) / h)) : 0;
                    int last = h > 0 ? Math.min(points - 1, (int) Math.floor((x + CUT * sigma - lo) / h)) : points - 1;
                    if (first > last) {
                        continue;
                    }
                    // e_g = exp(−z_g²/2), z_g = (t_g − x)/σ; e_{g+1} = e_g · r_g, r_g = exp(−(2 z_g + step)·step/2), r_{g+1} = r_g · q
                    double z = (grid[first] - x) / sigma;
                    double e = Math.exp(-0.5 * z * z);
                    double r = Math.exp(-(2 * z + step) * step / 2);
                    for (int g = first; g <= last; g++) {
                        density[g] += w * e;
                        e *= r;
                        r *= q;
                    }
                }
            }
            for (int g = 0; g < points; g++) {
                density[g] *= norm;
            }
            return new double[][] {grid, density};
        }
    }

    /**
     * The density of each matrix of {@code op}: by SLQ ({@link #estimate}) when {@code steps} is
     * below the dimension, else exactly, from the eigenvalues of the dense matrix with weight 1/dim
     * each (SLQ with as many steps as the dimension gives those same nodes). Every matrix of a batch
     * contributes its rows, so the curve is their average.
     */
    public static Quadrature of(SymmetricOperator op, int probes, int steps, int lockstep, long seed) {
        int d = op.dim();
        if (steps < d) {
            return estimate(op, probes, steps, lockstep, seed);
        }
        double[] h = Curvature.full(op);
        int b = op.batch();
        double[][] nodes = new double[b][];
        double[][] weights = new double[b][d];
        for (int m = 0; m < b; m++) {
            nodes[m] = SymmetricEigen.of(h, m * d * d, d).values();
            java.util.Arrays.fill(weights[m], 1.0 / d);
        }
        return new Quadrature(nodes, weights, (long) b * d);
    }

    /** Rows of several quadratures (chunks of points) as one. */
    public static Quadrature concat(List<Quadrature> parts) {
        List<double[]> nodes = new ArrayList<>();
        List<double[]> weights = new ArrayList<>();
        long products = 0;
        for (Quadrature q : parts) {
            nodes.addAll(List.of(q.nodes()));
            weights.addAll(List.of(q.weights()));
            products += q.products();
        }
        return new Quadrature(nodes.toArray(double[][]::new), weights.toArray(double[][]::new), products);
    }

    /**
     * Runs {@code probes} Lanczos chains of {@code steps} steps (at most the dimension) over an
     * operator of batch one, up to {@code lockstep} chains at a time so that their products share a
     * block.
     */
    public static Quadrature estimate(SymmetricOperator op, int probes, int steps, int lockstep, long seed) {
        Curvature.requireSingle(op);
        int dim = op.dim();
        SplittableRandom rng = new SplittableRandom(seed);
        int m = Math.min(steps, dim);
        double[][] nodes = new double[probes][];
        double[][] weights = new double[probes][];
        long products = 0;
        for (int start = 0; start < probes; start += lockstep) {
            int count = Math.min(lockstep, probes - start);
            List<Lanczos.Chain> chains = new ArrayList<>();
            try {
                for (int c = 0; c < count; c++) {
                    chains.add(Lanczos.chain(op, Hutchinson.rademacher(rng, dim), m, rng.split()));
                }
                Lanczos.run(chains, op, m);
                for (int c = 0; c < count; c++) {
                    Lanczos.Chain chain = chains.get(c);
                    products += chain.steps();
                    SymmetricEigen.Result r = chain.ritz();
                    int n = r.values().length;
                    nodes[start + c] = r.values();
                    weights[start + c] = new double[n];
                    for (int i = 0; i < n; i++) {
                        double first = r.vectors()[0][i];
                        weights[start + c][i] = first * first;
                    }
                }
            } finally {
                for (Lanczos.Chain chain : chains) {
                    chain.close();
                }
            }
        }
        return new Quadrature(nodes, weights, products);
    }
}
