package dev.hesstrain.hessian;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import ai.djl.ndarray.NDArray;
import ai.djl.ndarray.NDManager;
import ai.djl.ndarray.types.DataType;
import ai.djl.ndarray.types.Shape;
import dev.hesstrain.model.Dense;
import dev.hesstrain.model.Loss;
import dev.hesstrain.model.Network;
import dev.hesstrain.spec.LayerSpec;
import dev.hesstrain.spec.LayerType;
import dev.hesstrain.spec.LossKind;
import dev.hesstrain.spec.ModelSpec;
import java.util.ArrayList;
import java.util.List;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.EnumSource;

class PointHessiansTest {

    /**
     * f(x1, x2) = x1² + 2·x1²·x2 − 3·x2³ from cubes c(z) = z³/6 of five linear combinations:
     * f = c(x1+1) − c(x1−1) + 2c(x1+x2) − 2c(x1−x2) − 22c(x2) − 1/3.
     */
    static Network polynomial(NDManager m) {
        NDManager nm = m.newSubManager();
        NDArray w1 = nm.create(new double[] {1, 0, 1, 0, 1, 1, 1, -1, 0, 1}, new Shape(5, 2));
        NDArray b1 = nm.create(new double[] {1, -1, 0, 0, 0});
        NDArray w2 = nm.create(new double[] {1, -1, 2, -2, -22}, new Shape(1, 5));
        NDArray b2 = nm.create(new double[] {-1.0 / 3});
        return Network.of(nm, List.of(new Dense(w1, b1), new InputHessianTest.Cube(), new Dense(w2, b2)),
                new Shape(2), 1, DataType.FLOAT64);
    }

    @Test
    void polynomialHasTheKnownHessianAndRowSums() {
        try (NDManager m = NDManager.newBaseManager()) {
            Network net = polynomial(m);
            try (PointHessians ph = new PointHessians(net); NDManager s = m.newSubManager()) {
                net.attach(s);
                double f = net.forward(s.create(new double[] {1, 2}, new Shape(1, 2))).getDouble(0, 0);
                assertEquals(1 + 2 * 2 - 3 * 8, f, 1e-12);
                double[] h = ph.compute(new double[] {1, 2, -0.5, 0.25}, 2, null, null);
                // at (1, 2): [[2 + 4·x2, 4·x1], [4·x1, −18·x2]] = [[10, 4], [4, −36]]
                assertArrayEquals(new double[] {10, 4, 4, -36}, java.util.Arrays.copyOfRange(h, 0, 4), 1e-10);
                assertEquals(14, h[0] + h[1], 1e-10);
                assertEquals(-32, h[2] + h[3], 1e-10);
                assertArrayEquals(new double[] {3, -2, -2, -4.5}, java.util.Arrays.copyOfRange(h, 4, 8), 1e-10);
            }
        }
    }

    @Test
    void quadraticFormHasHessianTwiceLtL() {
        // f(x) = Σᵢ (Lx)ᵢ² = xᵀ(LᵀL)x has the constant Hessian 2LᵀL
        double[] l = {1, 2, 0, -1, 0.5, 3, 0, 1, -2};
        try (NDManager m = NDManager.newBaseManager()) {
            NDManager nm = m.newSubManager();
            NDArray lw = nm.create(l, new Shape(3, 3));
            NDArray cube = nm.create(new double[] {0, 0, 0});
            // (z+1)³/6 − (z−1)³/6 − 1/3 = z²: two cube units per square
            NDArray w1 = nm.create(new double[] {1, 0, 0, 1, 0, 0, 0, 1, 0, 0, 1, 0, 0, 0, 1, 0, 0, 1}, new Shape(6, 3));
            NDArray b1 = nm.create(new double[] {1, -1, 1, -1, 1, -1});
            NDArray w2 = nm.create(new double[] {1, -1, 1, -1, 1, -1}, new Shape(1, 6));
            Network net = Network.of(nm, List.of(new Dense(lw, cube), new Dense(w1, b1), new InputHessianTest.Cube(),
                    new Dense(w2, null)), new Shape(3), 1, DataType.FLOAT64);
            try (PointHessians ph = new PointHessians(net)) {
                double[] h = ph.compute(new double[] {0.3, -0.7, 1.1}, 1, null, null);
                for (int j = 0; j < 3; j++) {
                    for (int k = 0; k < 3; k++) {
                        double expected = 0;
                        for (int i = 0; i < 3; i++) {
                            expected += 2 * l[i * 3 + j] * l[i * 3 + k];
                        }
                        assertEquals(expected, h[j * 3 + k], 1e-10, "entry " + j + "," + k);
                    }
                }
            }
        }
    }

    static Network mlp(NDManager m, LossKind loss, int outputs) {
        List<LayerSpec> layers = new ArrayList<>(List.of(
                new LayerSpec(LayerType.LINEAR, 6, null, null, null, null, null),
                new LayerSpec(LayerType.SOFTPLUS, null, null, null, null, null, null),
                new LayerSpec(LayerType.LINEAR, outputs, null, null, null, null, null)));
        if (loss == LossKind.NLL) {
            layers.add(new LayerSpec(LayerType.LOG_SOFTMAX, null, null, null, null, null, null));
        }
        return Network.build(new ModelSpec(null, layers), 3, DataType.FLOAT64, m, 21);
    }

    @ParameterizedTest
    @EnumSource(LossKind.class)
    void lossHessiansAgreeWithFiniteDifferences(LossKind loss) {
        int n = 3;
        int d = 3;
        int o = 3;
        try (NDManager m = NDManager.newBaseManager()) {
            Network net = mlp(m, loss, o);
            double[] x = ParamHessianTest.uniform(31, n * d);
            double[] y = loss == LossKind.MSE ? ParamHessianTest.uniform(32, n * o) : new double[] {2, 0, 1};
            try (PointHessians ph = new PointHessians(net)) {
                assertEquals(1, ph.matrices(loss));
                double[] h = ph.compute(x, n, y, loss);
                assertEquals(n * d * d, h.length);
                double scale = 0;
                for (double v : h) {
                    scale = Math.max(scale, Math.abs(v));
                }
                assertTrue(scale > 1e-3, "the Hessian should not vanish: " + scale);
                for (int s = 0; s < n; s++) {
                    double[] fd = finiteDifferences(net, java.util.Arrays.copyOfRange(x, s * d, (s + 1) * d),
                            loss == LossKind.MSE ? java.util.Arrays.copyOfRange(y, s * o, (s + 1) * o) : new double[] {y[s]},
                            loss);
                    for (int i = 0; i < d * d; i++) {
                        assertEquals(fd[i], h[s * d * d + i], 1e-6 * scale, "point " + s + " entry " + i);
                    }
                }
            }
        }
    }

    /** The loss of one point at x, in float64. */
    static double pointLoss(Network net, double[] x, double[] y, LossKind loss) {
        try (NDManager step = net.manager().newSubManager()) {
            net.attach(step);
            NDArray out = net.forward(step.create(x, new Shape(1, x.length)));
            NDArray ys = loss == LossKind.MSE ? step.create(y, new Shape(1, y.length)) : step.create(y, new Shape(1));
            return Loss.of(loss, out, ys).getDouble();
        }
    }

    static double[] finiteDifferences(Network net, double[] x, double[] y, LossKind loss) {
        int d = x.length;
        double[] res = new double[d * d];
        for (int j = 0; j < d; j++) {
            for (int k = 0; k < d; k++) {
                double coarse = second(net, x, y, loss, j, k, 2e-3);
                double fine = second(net, x, y, loss, j, k, 1e-3);
                res[j * d + k] = (4 * fine - coarse) / 3;
            }
        }
        return res;
    }

    private static double second(Network net, double[] x, double[] y, LossKind loss, int j, int k, double h) {
        int[][] signs = {{1, 1}, {1, -1}, {-1, 1}, {-1, -1}};
        double[] f = new double[4];
        for (int c = 0; c < 4; c++) {
            double[] xp = x.clone();
            xp[j] += signs[c][0] * h;
            xp[k] += signs[c][1] * h;
            f[c] = pointLoss(net, xp, y, loss);
        }
        return (f[0] - f[1] - f[2] + f[3]) / (4 * h * h);
    }

    @Test
    void outputHessiansHaveOneMatrixPerOutput() {
        try (NDManager m = NDManager.newBaseManager()) {
            Network net = mlp(m, LossKind.MSE, 2);
            try (PointHessians ph = new PointHessians(net)) {
                assertEquals(2, ph.matrices(null));
                double[] x = ParamHessianTest.uniform(41, 4 * 3);
                double[] h = ph.compute(x, 4, null, null);
                assertEquals(4 * 2 * 9, h.length);
                double[] db = DoubleBackward.inputHessian(net, m.create(x, new Shape(4, 3)));
                assertArrayEquals(db, h, 1e-10);
            }
        }
    }

    /**
     * Issue 9, deliver 2: the closed form's diagonals, traces, Frobenius norms and products (none
     * of which forms H) equal those of the formed Hessians, double backward's for the outputs and
     * the chain rule's composition for each loss, to 1e-12 in float64, at d = 3 with 3 outputs.
     */
    @ParameterizedTest
    @org.junit.jupiter.params.provider.ValueSource(strings = {"output", "mse", "cross_entropy", "nll"})
    void closedFormQuantitiesEqualTheFormedHessians(String of) {
        LossKind loss = of.equals("output") ? null : LossKind.valueOf(of.toUpperCase(java.util.Locale.ROOT));
        int n = 5;
        int d = 3;
        int o = 3;
        try (NDManager m = NDManager.newBaseManager()) {
            Network net = mlp(m, loss == null ? LossKind.MSE : loss, o);
            double[] x = ParamHessianTest.uniform(51, n * d);
            double[] y = loss == null ? null : loss == LossKind.MSE ? ParamHessianTest.uniform(52, n * o)
                    : new double[] {2, 0, 1, 1, 2};
            try (PointHessians ph = new PointHessians(net)) {
                int mats = n * ph.matrices(loss);
                double[] h = loss == null ? DoubleBackward.inputHessian(net, m.create(x, new Shape(n, d)))
                        : ph.compute(x, n, y, loss);
                double scale = 0;
                for (double v : h) {
                    scale = Math.max(scale, Math.abs(v));
                }
                assertTrue(scale > 1e-2, "a Hessian that does not vanish: " + scale);
                double tol = 1e-12 * scale;
                try (PointHessians.Points p = ph.at(x, n, y, loss)) {
                    assertTrue(p.closedForm(), "d = 3 takes the closed form");
                    double[] dg = p.diagonals();
                    double[] tr = p.traces();
                    double[] fro = p.frobenius();
                    double[] v = ParamHessianTest.uniform(53, mats * d);
                    double[] hv = Curvature.times(p.operator(), v, 1);
                    assertEquals(mats * d, dg.length);
                    for (int c = 0; c < mats; c++) {
                        double t = 0;
                        double f = 0;
                        for (int j = 0; j < d; j++) {
                            assertEquals(h[(c * d + j) * d + j], dg[c * d + j], tol, "diagonal " + c + "," + j);
                            t += h[(c * d + j) * d + j];
                            double row = 0;
                            for (int k = 0; k < d; k++) {
                                f += h[(c * d + j) * d + k] * h[(c * d + j) * d + k];
                                row += h[(c * d + j) * d + k] * v[c * d + k];
                            }
                            assertEquals(row, hv[c * d + j], 10 * tol, "product " + c + "," + j);
                        }
                        assertEquals(t, tr[c], 10 * tol, "trace " + c);
                        assertEquals(f, fro[c], 100 * tol * scale, "frobenius " + c);
                    }
                    assertArrayEquals(h, p.full(), tol, "the formed Hessians");
                }
            }
        }
    }
}
