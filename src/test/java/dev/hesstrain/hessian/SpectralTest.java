package dev.hesstrain.hessian;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import ai.djl.ndarray.NDManager;
import ai.djl.ndarray.types.DataType;
import dev.hesstrain.model.Network;
import dev.hesstrain.spec.LayerSpec;
import dev.hesstrain.spec.LayerType;
import dev.hesstrain.spec.LossKind;
import dev.hesstrain.spec.ModelSpec;
import java.util.Arrays;
import java.util.List;
import java.util.SplittableRandom;
import java.util.function.UnaryOperator;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.ValueSource;

/** The float64 spectral tools over the operator type: EJML's decompositions, Lanczos, Hutchinson and SLQ. */
class SpectralTest {

    static double[][] randomSymmetric(int n, long seed) {
        SplittableRandom rng = new SplittableRandom(seed);
        double[][] a = new double[n][n];
        for (int i = 0; i < n; i++) {
            for (int j = i; j < n; j++) {
                a[i][j] = rng.nextDouble() * 2 - 1;
                a[j][i] = a[i][j];
            }
        }
        return a;
    }

    /** The library's eigenvalues (EJML, ascending): the reference, not the project's own solver. */
    static double[] reference(double[][] a) {
        return EigenReference.of(a);
    }

    static double[] flat(double[][] a) {
        return Arrays.stream(a).flatMapToDouble(Arrays::stream).toArray();
    }

    /** A dense matrix as an operator of batch one, multiplying {@code block} vectors at a time. */
    static DenseOperator op(double[][] a, NDManager m, int block) {
        return new DenseOperator(flat(a), 1, a.length, block, m);
    }

    static UnaryOperator<double[]> times(double[][] a) {
        return x -> {
            double[] y = new double[a.length];
            for (int i = 0; i < a.length; i++) {
                for (int j = 0; j < a.length; j++) {
                    y[i] += a[i][j] * x[j];
                }
            }
            return y;
        };
    }

    @Test
    void symmetricEigenDiagonalisesAKnownMatrix() {
        // [[2, 1], [1, 2]] has eigenvalues 1 and 3 with eigenvectors (1, −1)/√2 and (1, 1)/√2
        SymmetricEigen.Result r = SymmetricEigen.of(new double[][] {{2, 1}, {1, 2}});
        assertArrayEquals(new double[] {1, 3}, r.values(), 1e-14);
        assertEquals(1 / Math.sqrt(2), Math.abs(r.vectors()[0][1]), 1e-14);
        assertEquals(r.vectors()[0][0], -r.vectors()[1][0], 1e-14);
    }

    @ParameterizedTest
    @ValueSource(ints = {1, 2, 5, 17, 40})
    void symmetricEigenReconstructsTheMatrix(int n) {
        double[][] a = randomSymmetric(n, n);
        SymmetricEigen.Result r = SymmetricEigen.of(a);
        for (int i = 0; i < n; i++) {
            for (int j = 0; j < n; j++) {
                double s = 0;
                double orth = 0;
                for (int k = 0; k < n; k++) {
                    s += r.vectors()[i][k] * r.values()[k] * r.vectors()[j][k];
                    orth += r.vectors()[k][i] * r.vectors()[k][j];
                }
                assertEquals(a[i][j], s, 1e-12, "A = V Λ Vᵀ at " + i + "," + j);
                assertEquals(i == j ? 1 : 0, orth, 1e-12, "VᵀV = I at " + i + "," + j);
            }
        }
        for (int k = 1; k < n; k++) {
            assertTrue(r.values()[k - 1] <= r.values()[k], "ascending");
        }
    }

    @Test
    void tridiagonalAgreesWithTheDenseReference() {
        int n = 30;
        SplittableRandom rng = new SplittableRandom(3);
        double[] alpha = new double[n];
        double[] beta = new double[n - 1];
        double[][] t = new double[n][n];
        for (int i = 0; i < n; i++) {
            alpha[i] = rng.nextDouble() * 4 - 2;
            t[i][i] = alpha[i];
            if (i < n - 1) {
                beta[i] = i == 11 ? 0 : rng.nextDouble();
                t[i][i + 1] = beta[i];
                t[i + 1][i] = beta[i];
            }
        }
        SymmetricEigen.Result ql = SymmetricEigen.tridiagonal(alpha, beta);
        assertArrayEquals(reference(t), ql.values(), 1e-12);
        for (int k = 0; k < n; k++) {
            double[] tv = times(t).apply(ql.vector(k));
            for (int i = 0; i < n; i++) {
                assertEquals(ql.values()[k] * ql.vector(k)[i], tv[i], 1e-11, "T v = λ v");
            }
        }
    }

    @Test
    void lanczosFindsTheTopEigenvaluesByMagnitudeAndBothEnds() {
        int n = 60;
        double[][] a = randomSymmetric(n, 9);
        double[] exact = reference(a);
        int[] order = SymmetricEigen.byMagnitude(exact);
        Lanczos.Eigs e;
        try (NDManager m = NDManager.newBaseManager(); DenseOperator op = op(a, m, 1)) {
            e = Lanczos.topK(op, 5, n, 1e-10, 1, true);
        }
        for (int i = 0; i < 5; i++) {
            assertEquals(exact[order[i]], e.values()[i], 1e-9, "eigenvalue " + i);
            double[] av = times(a).apply(e.vectors()[i]);
            for (int j = 0; j < n; j++) {
                assertEquals(e.values()[i] * e.vectors()[i][j], av[j], 1e-7, "A v = λ v");
            }
        }
        assertEquals(exact[0], e.lambdaMin(), 1e-9);
        assertEquals(exact[n - 1], e.lambdaMax(), 1e-9);
        assertTrue(e.converged());
    }

    @Test
    void lanczosFindsRepeatedEigenvaluesOfALowRankMatrix() {
        // rank 2: eigenvalues 5, −2 and fourteen zeros; the Krylov space breaks down after two steps
        int n = 16;
        double[] u = new double[n];
        double[] v = new double[n];
        for (int i = 0; i < n; i++) {
            u[i] = (i % 2 == 0 ? 1 : -1) / Math.sqrt(n);
            v[i] = (i < n / 2 ? 1 : -1) / Math.sqrt(n);
        }
        double[][] a = new double[n][n];
        for (int i = 0; i < n; i++) {
            for (int j = 0; j < n; j++) {
                a[i][j] = 5 * u[i] * u[j] - 2 * v[i] * v[j];
            }
        }
        Lanczos.Eigs e;
        try (NDManager m = NDManager.newBaseManager(); DenseOperator op = op(a, m, 1)) {
            e = Lanczos.topK(op, 4, n, 1e-10, 2, false);
        }
        assertArrayEquals(new double[] {5, -2, 0, 0}, e.values(), 1e-10);
        assertEquals(-2, e.lambdaMin(), 1e-10);
        assertEquals(5, e.lambdaMax(), 1e-10);
    }

    @Test
    void lanczosOnAParameterHessianMatchesItsDenseEigendecomposition() {
        try (NDManager m = NDManager.newBaseManager()) {
            ModelSpec spec = new ModelSpec(null, List.of(
                    new LayerSpec(LayerType.LINEAR, 4, null, null, null, null, null),
                    new LayerSpec(LayerType.SIGMOID, null, null, null, null, null, null),
                    new LayerSpec(LayerType.LINEAR, 3, null, null, null, null, null)));
            Network net = Network.build(spec, 3, DataType.FLOAT64, m, 8);
            double[] x = ParamHessianTest.uniform(1, 6 * 3);
            double[] y = {0, 1, 2, 2, 1, 0};
            try (ParamHessian h = new ParamHessian(net, x, 6, y, LossKind.CROSS_ENTROPY, 8)) {
                double[][] dense = ParamHessianTest.full(h);
                double[] exact = reference(dense);
                int[] order = SymmetricEigen.byMagnitude(exact);
                Lanczos.Eigs e = Lanczos.topK(new ParamHessianOperator(h, m), 4, h.dim(), 1e-10, 3, false);
                double scale = Math.abs(exact[order[0]]);
                for (int i = 0; i < 4; i++) {
                    assertEquals(exact[order[i]], e.values()[i], 1e-9 * scale, "eigenvalue " + i);
                }
                assertEquals(exact[0], e.lambdaMin(), 1e-9 * scale);
                assertEquals(exact[h.dim() - 1], e.lambdaMax(), 1e-9 * scale);
            }
        }
    }

    @Test
    void hutchinsonIsWithinFourStandardErrorsOfTheTrace() {
        int n = 50;
        double[][] a = randomSymmetric(n, 4);
        double trace = 0;
        for (int i = 0; i < n; i++) {
            a[i][i] += 1;
            trace += a[i][i];
        }
        try (NDManager m = NDManager.newBaseManager(); DenseOperator op16 = op(a, m, 16); DenseOperator op3 = op(a, m, 3);
                DenseOperator op4 = op(a, m, 4)) {
            for (long seed = 0; seed < 5; seed++) {
                Hutchinson.Estimate e = Hutchinson.estimate(op16, 200, seed);
                assertTrue(e.standardError() > 0);
                assertTrue(Math.abs(e.trace() - trace) < 4 * e.standardError(),
                        "estimate " + e.trace() + " ± " + e.standardError() + " vs trace " + trace);
            }
            // the same seed gives the same probes
            assertEquals(Hutchinson.estimate(op3, 10, 7).trace(), Hutchinson.estimate(op4, 10, 7).trace(), 1e-12);
        }
    }

    @Test
    void hutchinsonOnAParameterHessianMatchesTheExactTrace() {
        try (NDManager m = NDManager.newBaseManager()) {
            Network net = ParamHessianTest.mlp(m, null, 2);
            double[] x = ParamHessianTest.uniform(3, 8 * 2);
            double[] y = ParamHessianTest.uniform(4, 8 * 2);
            try (ParamHessian h = new ParamHessian(net, x, 8, y, LossKind.MSE, 16)) {
                double[][] dense = ParamHessianTest.full(h);
                double trace = 0;
                for (int i = 0; i < dense.length; i++) {
                    trace += dense[i][i];
                }
                Hutchinson.Estimate e = Hutchinson.estimate(new ParamHessianOperator(h, m), 16 * 20, 0);
                assertTrue(Math.abs(e.trace() - trace) < 4 * e.standardError(),
                        "estimate " + e.trace() + " ± " + e.standardError() + " vs trace " + trace);
            }
        }
    }

    @Test
    void densityHasUnitMassAndTheTraceAsItsMean() {
        int n = 40;
        double[][] a = randomSymmetric(n, 12);
        double[] exact = reference(a);
        SpectralDensity.Quadrature q;
        try (NDManager m = NDManager.newBaseManager(); DenseOperator op = op(a, m, 7)) {
            q = SpectralDensity.estimate(op, 30, n, 7, 5);
        }
        // with n steps the quadrature nodes are the exact eigenvalues
        for (double[] nodes : q.nodes()) {
            assertArrayEquals(exact, nodes, 1e-9);
        }
        double[][] curve = q.curve(4000, q.defaultSigma());
        double mass = 0;
        double mean = 0;
        double dt = curve[0][1] - curve[0][0];
        for (int i = 0; i < curve[0].length; i++) {
            mass += curve[1][i] * dt;
            mean += curve[0][i] * curve[1][i] * dt;
        }
        assertEquals(1, mass, 1e-3);
        double trace = Arrays.stream(exact).sum();
        // E[vᵀAv] = tr(A)/n for normalised Rademacher v: the mean of the density estimates it
        assertEquals(trace / n, mean, 4 * Math.sqrt(2.0 / 30) * Math.sqrt(Arrays.stream(exact).map(v -> v * v).sum()) / n);
        assertEquals(exact[0], q.min(), 1e-9);
        assertEquals(exact[n - 1], q.max(), 1e-9);
    }

    /** The windowed recurrence of {@code curve} equals the direct sum of every node's Gaussian. */
    @Test
    void theCurveEqualsTheDirectSumOfGaussians() {
        java.util.SplittableRandom rng = new java.util.SplittableRandom(3);
        double[][] nodes = new double[7][40];
        double[][] weights = new double[7][40];
        for (int p = 0; p < 7; p++) {
            double sum = 0;
            for (int i = 0; i < 40; i++) {
                nodes[p][i] = rng.nextDouble() < 0.2 ? 50 + rng.nextGaussian() : rng.nextGaussian() * 3;
                weights[p][i] = rng.nextDouble();
                sum += weights[p][i];
            }
            for (int i = 0; i < 40; i++) {
                weights[p][i] /= sum;
            }
        }
        SpectralDensity.Quadrature q = new SpectralDensity.Quadrature(nodes, weights, 0);
        for (double sigma : new double[] {q.defaultSigma(), 0.05, 2.0}) {
            for (int points : new int[] {1000, 77}) {
                double[][] c = q.curve(points, sigma);
                double peak = Arrays.stream(c[1]).max().orElseThrow();
                for (int g = 0; g < points; g++) {
                    double s = 0;
                    for (int p = 0; p < 7; p++) {
                        for (int i = 0; i < 40; i++) {
                            double z = (c[0][g] - nodes[p][i]) / sigma;
                            s += weights[p][i] * Math.exp(-0.5 * z * z);
                        }
                    }
                    s /= Math.sqrt(2 * Math.PI) * sigma * 7;
                    assertEquals(s, c[1][g], 1e-12 * peak, "sigma " + sigma + ", grid point " + g);
                }
            }
        }
    }
}
