package dev.hesstrain.hessian;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertNotEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import ai.djl.ndarray.NDArray;
import ai.djl.ndarray.NDManager;
import ai.djl.ndarray.types.DataType;
import ai.djl.ndarray.types.Shape;
import dev.hesstrain.model.Network;
import dev.hesstrain.model.Pairs;
import dev.hesstrain.model.Taylor;
import dev.hesstrain.spec.Distribution;
import dev.hesstrain.spec.LayerSpec;
import dev.hesstrain.spec.LayerType;
import dev.hesstrain.spec.ModelSpec;
import dev.hesstrain.spec.Norm;
import java.util.ArrayList;
import java.util.List;
import java.util.SplittableRandom;
import java.util.stream.Stream;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.Arguments;
import org.junit.jupiter.params.provider.EnumSource;
import org.junit.jupiter.params.provider.MethodSource;

/**
 * The randomised norms of {@link HutchinsonNorm} against the exact ones: unbiased (the mean of
 * many estimates within 4 standard errors of the exact value), variance falling like 1/k in the
 * probes, and the exact norms themselves against float64 finite differences. Every draw comes
 * from a fixed seed, so the outcome is deterministic.
 */
class HutchinsonNormTest {
    static final int D = 4;

    /** N random points in [-1, 1]^D. */
    static double[] points(int n, long seed) {
        SplittableRandom rng = new SplittableRandom(seed);
        double[] xs = new double[n * D];
        for (int i = 0; i < xs.length; i++) {
            xs[i] = rng.nextDouble() * 2 - 1;
        }
        return xs;
    }

    /** The exact norm of every sample, summed over outputs, from the dense float64 Hessians. */
    static double[] exact(Network net, NDManager m, double[] xs, Norm norm) {
        int n = xs.length / D;
        int o = net.outputs();
        try (NDManager sub = m.newSubManager(); InputHessian ih = new InputHessian(net)) {
            double[] h = ih.full(sub.create(xs, new Shape(n, D))).toDoubleArray();
            return sumOverOutputs(h, n, o, norm);
        }
    }

    static double[] sumOverOutputs(double[] h, int n, int o, Norm norm) {
        return sumOverOutputs(h, n, o, D, norm);
    }

    static double[] sumOverOutputs(double[] h, int n, int o, int d, Norm norm) {
        double[] res = new double[n];
        for (int s = 0; s < n; s++) {
            for (int q = 0; q < o; q++) {
                double[][] hq = new double[d][d];
                for (int j = 0; j < d; j++) {
                    for (int k = 0; k < d; k++) {
                        hq[j][k] = h[((s * o + q) * d + j) * d + k];
                    }
                }
                res[s] += reference(norm, hq);
            }
        }
        return res;
    }

    /** The norm of a dense symmetric d×d Hessian, in float64: the definitions of {@link Norm}, as a reference. */
    static double reference(Norm norm, double[][] h) {
        double s = 0;
        double tr = 0;
        for (int j = 0; j < h.length; j++) {
            tr += h[j][j];
            for (int k = 0; k < h.length; k++) {
                double v = h[j][k] * h[j][k];
                s += switch (norm) {
                    case FROBENIUS -> v;
                    case DIAGONAL -> j == k ? v : 0;
                    case OFFDIAGONAL -> j != k ? v : 0;
                    case TRACE -> 0;
                };
            }
        }
        return norm == Norm.TRACE ? tr * tr : s;
    }

    /** {@code reps} independent estimates of every sample: [reps][n], from one Taylor pass. */
    static double[][] estimates(Network net, NDManager m, double[] xs, Norm norm, int probes, Distribution dist,
            int reps, long seed) {
        int n = xs.length / D;
        double[] rows = new double[reps * xs.length];
        for (int r = 0; r < reps; r++) {
            System.arraycopy(xs, 0, rows, r * xs.length, xs.length);
        }
        try (NDManager sub = m.newSubManager(); HutchinsonNorm est = new HutchinsonNorm(net, norm, probes, dist)) {
            Taylor t = est.taylor(sub.create(rows, new Shape((long) reps * n, D)), new SplittableRandom(seed));
            double[] flat = est.estimate(t).toType(DataType.FLOAT64, false).toDoubleArray();
            double[][] res = new double[reps][n];
            for (int r = 0; r < reps; r++) {
                System.arraycopy(flat, r * n, res[r], 0, n);
            }
            return res;
        }
    }

    static Network mlp(NDManager m, int outputs, long seed) {
        return InputHessianTest.mlp(m, "tanh", D, outputs, seed);
    }

    static Stream<Arguments> estimators() {
        List<Arguments> cases = new ArrayList<>();
        for (Norm norm : Norm.values()) {
            for (Distribution dist : Distribution.values()) {
                for (int probes : new int[] {1, 3}) {
                    cases.add(Arguments.of(norm, dist, probes));
                }
            }
        }
        return cases.stream();
    }

    /** The mean of 20,000 estimates lies within 4 standard errors of the exact norm, for each sample. */
    @ParameterizedTest(name = "{0} {1} k={2}")
    @MethodSource("estimators")
    void estimatesAreUnbiased(Norm norm, Distribution dist, int probes) {
        int n = 3;
        int reps = 20_000;
        try (NDManager m = NDManager.newBaseManager()) {
            Network net = mlp(m, 2, 11);
            double[] xs = points(n, 5);
            double[] exact = exact(net, m, xs, norm);
            double[][] est = estimates(net, m, xs, norm, probes, dist, reps, 100 + norm.ordinal() * 10 + probes);
            for (int s = 0; s < n; s++) {
                double mean = 0;
                for (double[] e : est) {
                    mean += e[s];
                }
                mean /= reps;
                double ss = 0;
                for (double[] e : est) {
                    ss += (e[s] - mean) * (e[s] - mean);
                }
                double se = Math.sqrt(ss / (reps - 1) / reps);
                assertTrue(exact[s] > 1e-4, "the norm should not vanish: " + exact[s]);
                assertTrue(se < 0.25 * exact[s], "the test needs power: standard error " + se + " of " + exact[s]);
                assertEquals(exact[s], mean, 4 * se,
                        norm + " sample " + s + ": mean " + mean + " vs exact " + exact[s] + " (se " + se + ")");
            }
        }
    }

    /** Empirical variance of one sample's estimate. */
    static double variance(double[][] est) {
        double mean = 0;
        for (double[] e : est) {
            mean += e[0];
        }
        mean /= est.length;
        double ss = 0;
        for (double[] e : est) {
            ss += (e[0] - mean) * (e[0] - mean);
        }
        return ss / (est.length - 1);
    }

    /**
     * Eight probes divide the variance by about 8 (independent terms). The trace's U-statistic
     * does better: its variance 4μ²σ²/m + 2σ⁴/(m(m−1)) over m = 2k Hutchinson values (μ = tr H,
     * σ² the variance of one, 2Σⱼ≠ₖHⱼₖ² for Rademacher probes, 2‖H‖²_F for Gaussian ones) is checked
     * as such, at k = 1 and k = 8. One output, so that H is one matrix.
     */
    @ParameterizedTest(name = "{0}")
    @EnumSource(Norm.class)
    void varianceFallsLikeOneOverProbes(Norm norm) {
        int reps = 20_000;
        try (NDManager m = NDManager.newBaseManager()) {
            Network net = mlp(m, 1, 13);
            double[] xs = points(1, 8);
            for (Distribution dist : Distribution.values()) {
                double v1 = variance(estimates(net, m, xs, norm, 1, dist, reps, 21));
                double v8 = variance(estimates(net, m, xs, norm, 8, dist, reps, 22));
                if (norm != Norm.TRACE) {
                    double ratio = v1 / v8;
                    assertTrue(ratio > 8 / 1.5 && ratio < 8 * 1.5, norm + " " + dist + ": Var(k=1)/Var(k=8) = " + ratio);
                    continue;
                }
                double[][] h = hessian(net, m, xs);
                double mu = 0;
                double off = 0;
                double fro = 0;
                for (int j = 0; j < D; j++) {
                    mu += h[j][j];
                    for (int k = 0; k < D; k++) {
                        fro += h[j][k] * h[j][k];
                        off += j == k ? 0 : h[j][k] * h[j][k];
                    }
                }
                double sigma2 = 2 * (dist == Distribution.RADEMACHER ? off : fro);
                for (int k : new int[] {1, 8}) {
                    double mm = 2.0 * k;
                    double theory = 4 * mu * mu * sigma2 / mm + 2 * sigma2 * sigma2 / (mm * (mm - 1));
                    double empirical = k == 1 ? v1 : v8;
                    assertEquals(theory, empirical, 0.15 * theory, "trace " + dist + " k=" + k);
                }
            }
        }
    }

    /** The Frobenius estimate with Gaussian probes: variance 2‖H‖⁴_F + 6 tr H⁴ per probe. */
    @Test
    void gaussianFrobeniusVarianceMatchesTheory() {
        try (NDManager m = NDManager.newBaseManager()) {
            Network net = mlp(m, 1, 13);
            double[] xs = points(1, 8);
            double[][] h = hessian(net, m, xs);
            double fro = 0;
            double tr4 = 0;
            double[][] h2 = new double[D][D];
            for (int j = 0; j < D; j++) {
                for (int k = 0; k < D; k++) {
                    fro += h[j][k] * h[j][k];
                    for (int l = 0; l < D; l++) {
                        h2[j][k] += h[j][l] * h[l][k];
                    }
                }
            }
            for (int j = 0; j < D; j++) {
                for (int k = 0; k < D; k++) {
                    tr4 += h2[j][k] * h2[k][j];
                }
            }
            double theory = 2 * fro * fro + 6 * tr4;
            double empirical = variance(estimates(net, m, xs, Norm.FROBENIUS, 1, Distribution.GAUSSIAN, 40_000, 31));
            assertEquals(theory, empirical, 0.15 * theory);
        }
    }

    /** With a diagonal Hessian, the offdiagonal estimate with Rademacher probes is exactly zero. */
    @Test
    void rademacherOffdiagonalIsExactlyZeroForADiagonalHessian() {
        try (NDManager m = NDManager.newBaseManager()) {
            // x -> Σ p_j x_j³/6 has a diagonal Hessian
            NDManager netManager = m.newSubManager();
            Network net = Network.of(netManager, List.of(
                    new dev.hesstrain.model.Dense(netManager.eye(D).toType(DataType.FLOAT64, false), null),
                    new InputHessianTest.Cube(),
                    new dev.hesstrain.model.Dense(netManager.create(new double[] {3, -2, 1, 4}, new Shape(1, D)), null)),
                    new Shape(D), 1, DataType.FLOAT64);
            double[][] est = estimates(net, m, points(2, 3), Norm.OFFDIAGONAL, 2, Distribution.RADEMACHER, 50, 4);
            for (double[] e : est) {
                assertArrayEquals(new double[] {0, 0}, e, 1e-12);
            }
            double[] exactDiag = exact(net, m, points(2, 3), Norm.DIAGONAL);
            assertTrue(exactDiag[0] > 0);
        }
    }

    /** The dense Hessian of the single output at the single point xs. */
    static double[][] hessian(Network net, NDManager m, double[] xs) {
        try (NDManager sub = m.newSubManager(); InputHessian ih = new InputHessian(net)) {
            double[] flat = ih.full(sub.create(xs, new Shape(1, D))).toDoubleArray();
            double[][] h = new double[D][D];
            for (int j = 0; j < D; j++) {
                System.arraycopy(flat, j * D, h[j], 0, D);
            }
            return h;
        }
    }

    /** Each exact norm of the Taylor pass equals the norm of the float64 finite-difference Hessian. */
    @ParameterizedTest(name = "{0}")
    @EnumSource(Norm.class)
    void exactNormsAgreeWithFiniteDifferences(Norm norm) {
        int n = 4;
        int out = 2;
        try (NDManager m = NDManager.newBaseManager()) {
            for (String act : new String[] {"tanh", "softplus"}) {
                Network net = InputHessianTest.mlp(m, act, D, out, 17);
                double[] xs = points(n, 9);
                double[] fd = sumOverOutputs(InputHessianTest.finiteDifferences(net, m, xs, n, D, out), n, out, norm);
                try (NDManager sub = m.newSubManager(); InputHessian ih = new InputHessian(net)) {
                    double[] taylor = ih.norm(ih.taylor(sub.create(xs, new Shape(n, D))), norm).toDoubleArray();
                    for (int s = 0; s < n; s++) {
                        assertTrue(fd[s] > 1e-6, act + " " + norm + ": the norm should not vanish");
                        assertEquals(fd[s], taylor[s], 1e-6 * fd[s] + 1e-12, act + " " + norm + " sample " + s);
                    }
                }
            }
        }
    }

    /**
     * With 18 inputs the exact pass carries the upper triangle (pairs j ≤ k, counted twice off the
     * diagonal): its norms equal those of the dense Hessian that all 324 pairs give.
     */
    @Test
    void exactNormsInTheUpperTriangleLayoutEqualThoseOfAllPairs() {
        int d = 18;
        int n = 3;
        int out = 2;
        try (NDManager m = NDManager.newBaseManager()) {
            Network net = InputHessianTest.mlp(m, "softplus", d, out, 19);
            SplittableRandom rng = new SplittableRandom(12);
            double[] xs = new double[n * d];
            for (int i = 0; i < xs.length; i++) {
                xs[i] = rng.nextDouble() * 2 - 1;
            }
            try (NDManager sub = m.newSubManager(); InputHessian ih = new InputHessian(net); Pairs all = Pairs.full(d)) {
                NDArray x = sub.create(xs, new Shape(n, d));
                Taylor t = ih.taylor(x);
                assertEquals(d * (d + 1) / 2, ih.pairs().size());
                // [d², n, out] in row-major (j, k) order: the dense Hessians
                double[] h = net.taylor(x, sub.eye(d).toType(DataType.FLOAT64, false).expandDims(1), all).hess()
                        .transpose(1, 2, 0).toDoubleArray();
                for (Norm norm : Norm.values()) {
                    double[] dense = sumOverOutputs(h, n, out, d, norm);
                    double[] taylor = ih.norm(t, norm).toDoubleArray();
                    for (int s = 0; s < n; s++) {
                        assertTrue(dense[s] > 1e-8, norm + ": the norm should not vanish");
                        assertEquals(dense[s], taylor[s], 1e-10 * dense[s], norm + " sample " + s);
                    }
                }
            }
        }
    }

    /**
     * The Taylor pass takes directions per sample [K, N, d]: its second derivatives equal
     * u_aᵀ H v_b with each sample's own directions, through dense, conv2d and log_softmax layers.
     */
    @Test
    void taylorTakesPerSampleDirections() {
        List<LayerSpec> conv = List.of(
                new LayerSpec(LayerType.CONV2D, null, null, 2, 2, 1, 0),
                new LayerSpec(LayerType.SOFTPLUS, null, null, null, null, null, null),
                new LayerSpec(LayerType.FLATTEN, null, null, null, null, null, null),
                new LayerSpec(LayerType.LINEAR, 3, null, null, null, null, null),
                new LayerSpec(LayerType.LOG_SOFTMAX, null, null, null, null, null, null));
        List<LayerSpec> dense = List.of(
                new LayerSpec(LayerType.LINEAR, 5, null, null, null, null, null),
                new LayerSpec(LayerType.GELU, null, null, null, null, null, null),
                new LayerSpec(LayerType.LINEAR, 2, null, null, null, null, null));
        try (NDManager m = NDManager.newBaseManager()) {
            for (ModelSpec spec : List.of(new ModelSpec(List.of(1, 2, 2), conv), new ModelSpec(null, dense))) {
                Network net = Network.build(spec, D, DataType.FLOAT64, m, 3);
                int n = 3;
                int k = 2;
                int o = net.outputs();
                double[] xs = points(n, 4);
                double[] dirs = points(2 * k * n, 6); // [2k, n, D]
                try (NDManager sub = m.newSubManager(); InputHessian ih = new InputHessian(net)) {
                    double[] h = ih.full(sub.create(xs, new Shape(n, D))).toDoubleArray();
                    net.attach(sub);
                    Taylor t = net.taylor(sub.create(xs, new Shape(n, D)), sub.create(dirs, new Shape(2 * k, n, D)),
                            Pairs.zip(k));
                    double[] got = t.hess().toDoubleArray(); // [k, n, o]
                    for (int p = 0; p < k; p++) {
                        for (int s = 0; s < n; s++) {
                            for (int q = 0; q < o; q++) {
                                double want = 0;
                                for (int j = 0; j < D; j++) {
                                    for (int l = 0; l < D; l++) {
                                        want += dirs[(p * n + s) * D + j] * h[((s * o + q) * D + j) * D + l]
                                                * dirs[((k + p) * n + s) * D + l];
                                    }
                                }
                                assertEquals(want, got[(p * n + s) * o + q], 1e-10, "pair " + p + " sample " + s);
                            }
                        }
                    }
                }
            }
        }
    }

    /** The training penalty's scalar path equals λ times the mean of the per-sample estimates. */
    @ParameterizedTest(name = "{0}")
    @EnumSource(Norm.class)
    void scaledMeanIsTheMeanOfTheEstimates(Norm norm) {
        try (NDManager m = NDManager.newBaseManager()) {
            Network net = mlp(m, 2, 11);
            int n = 5;
            try (NDManager sub = m.newSubManager(); HutchinsonNorm est = new HutchinsonNorm(net, norm, 3, Distribution.RADEMACHER)) {
                Taylor t = est.taylor(sub.create(points(n, 2), new Shape(n, D)), new SplittableRandom(3));
                double mean = est.estimate(t).mean().getDouble();
                assertEquals(0.7 * mean, est.scaledMean(t, 0.7).getDouble(), 1e-12 * Math.abs(mean));
                assertEquals(0, est.scaledMean(t, 0.7).getShape().dimension());
            }
        }
    }

    /** Probes keep their values when the next ones are drawn (the draws share one buffer). */
    @Test
    void probesOwnTheirMemory() {
        try (NDManager m = NDManager.newBaseManager()) {
            for (DataType dtype : new DataType[] {DataType.FLOAT32, DataType.FLOAT64}) {
                List<LayerSpec> layers = List.of(new LayerSpec(LayerType.LINEAR, 3, null, null, null, null, null),
                        new LayerSpec(LayerType.TANH, null, null, null, null, null, null));
                Network net = Network.build(new ModelSpec(null, layers), D, dtype, m, 1);
                for (Distribution dist : Distribution.values()) {
                    try (HutchinsonNorm est = new HutchinsonNorm(net, Norm.FROBENIUS, 2, dist)) {
                        NDArray first = est.directions(m, 3, new SplittableRandom(1));
                        double[] before = first.toType(DataType.FLOAT64, true).toDoubleArray();
                        est.directions(m, 3, new SplittableRandom(2));
                        assertArrayEquals(before, first.toType(DataType.FLOAT64, true).toDoubleArray(), 0, dtype + " " + dist);
                        assertEquals(dtype, first.getDataType());
                    }
                }
            }
        }
    }

    /** A seed gives the same probes; samples and directions get different ones. */
    @Test
    void probesAreReproducibleAndPerSample() {
        try (NDManager m = NDManager.newBaseManager()) {
            Network net = mlp(m, 1, 1);
            for (Norm norm : Norm.values()) {
                for (Distribution dist : Distribution.values()) {
                    try (HutchinsonNorm est = new HutchinsonNorm(net, norm, 2, dist)) {
                        double[] a = est.directions(m, 3, new SplittableRandom(7)).toDoubleArray();
                        double[] b = est.directions(m, 3, new SplittableRandom(7)).toDoubleArray();
                        double[] c = est.directions(m, 3, new SplittableRandom(8)).toDoubleArray();
                        assertEquals(est.directions() * 3 * D, a.length);
                        assertArrayEquals(a, b, 0);
                        assertNotEquals(a[0] + "," + a[1] + "," + a[D], c[0] + "," + c[1] + "," + c[D]);
                        double[] sample0 = java.util.Arrays.copyOfRange(a, 0, D);
                        double[] sample1 = java.util.Arrays.copyOfRange(a, D, 2 * D);
                        assertNotEquals(java.util.Arrays.toString(sample0), java.util.Arrays.toString(sample1));
                        if (dist == Distribution.RADEMACHER) {
                            for (double v : a) {
                                assertEquals(1, Math.abs(v), 0);
                            }
                        }
                    }
                }
            }
        }
    }
}
