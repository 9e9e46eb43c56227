package dev.hesstrain.hessian;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import ai.djl.ndarray.NDArray;
import ai.djl.ndarray.NDManager;
import ai.djl.ndarray.types.DataType;
import ai.djl.ndarray.types.Shape;
import dev.hesstrain.model.Activation;
import dev.hesstrain.model.Dense;
import dev.hesstrain.model.Layer;
import dev.hesstrain.model.Network;
import dev.hesstrain.model.Pairs;
import dev.hesstrain.model.Taylor;
import dev.hesstrain.spec.LayerSpec;
import dev.hesstrain.spec.LayerType;
import dev.hesstrain.spec.ModelSpec;
import dev.hesstrain.spec.Norm;
import java.util.ArrayList;
import java.util.List;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.ValueSource;

class InputHessianTest {

    /** z³/6 elementwise: σ' = z²/2, σ'' = z. */
    static final class Cube implements Layer {
        /** 1/3 as a 0-d array of x's dtype in x's manager, alive for the whole step. */
        private static NDArray third(NDArray x) {
            return x.getManager().create(1.0 / 3).toType(x.getDataType(), false);
        }

        private static NDArray half(NDArray x) {
            return x.getManager().create(0.5).toType(x.getDataType(), false);
        }

        @Override
        public NDArray forward(NDArray x) {
            // products only: an op with a Java number saves a scalar that DJL frees early
            return x.mul(x).mul(x).mul(third(x)).mul(half(x));
        }

        @Override
        public Taylor forward(Taylor t, Pairs pairs) {
            NDArray z = t.value();
            NDArray s1 = z.square().mul(half(z));
            NDArray hess = pairs.outer(t.jac()).mul(z);
            if (t.hess() != null) {
                hess = hess.add(t.hess().mul(s1));
            }
            return new Taylor(forward(z), t.jac().mul(s1), hess);
        }

        @Override
        public Shape outputShape(Shape in) {
            return in;
        }
    }

    @Test
    void cubicHasAnalyticDiagonalHessian() {
        try (NDManager m = NDManager.newBaseManager()) {
            NDManager netManager = m.newSubManager();
            double[] p = {3, 2, 3, 2, 3};
            NDArray eye = netManager.eye(5).toType(DataType.FLOAT64, false);
            NDArray pw = netManager.create(p, new Shape(1, 5));
            Network net = Network.of(netManager,
                    List.of(new Dense(eye, null), new Cube(), new Dense(pw, null)),
                    new Shape(5), 1, DataType.FLOAT64);
            try (InputHessian ih = new InputHessian(net)) {
                NDArray x = m.create(new double[] {1, 2, 3, 4, 5}, new Shape(1, 5));
                double[] h = ih.full(x).toDoubleArray();
                double[] expected = new double[25];
                double[] diag = {3, 4, 9, 8, 15};
                for (int i = 0; i < 5; i++) {
                    expected[i * 5 + i] = diag[i];
                }
                assertArrayEquals(expected, h, 1e-12);
                assertArrayEquals(expected, DoubleBackward.inputHessian(net, x), 1e-12);
                Taylor t = ih.taylor(x);
                assertEquals(9 + 16 + 81 + 64 + 225, ih.norm(t, Norm.FROBENIUS).getDouble(0), 1e-9);
                assertEquals(Math.pow(3 + 4 + 9 + 8 + 15, 2), ih.norm(t, Norm.TRACE).getDouble(0), 1e-9);
                assertEquals(0, ih.norm(t, Norm.OFFDIAGONAL).getDouble(0), 1e-12);
            }
        }
    }

    static Network mlp(NDManager m, String act, int d, int out, long seed) {
        List<LayerSpec> layers = new ArrayList<>();
        for (int units : new int[] {7, 6}) {
            layers.add(new LayerSpec(LayerType.LINEAR, units, null, null, null, null, null));
            layers.add(new LayerSpec(LayerType.parse(act), null, null, null, null, null, null));
        }
        layers.add(new LayerSpec(LayerType.LINEAR, out, null, null, null, null, null));
        return Network.build(new ModelSpec(null, layers), d, DataType.FLOAT64, m, seed);
    }

    @ParameterizedTest
    @ValueSource(strings = {"tanh", "sigmoid", "softplus", "gelu", "silu", "sin"})
    void taylorAgreesWithDoubleBackwardAndFiniteDifferences(String act) {
        int d = 3;
        int out = 2;
        int n = 4;
        try (NDManager m = NDManager.newBaseManager()) {
            Network net = mlp(m, act, d, out, 7);
            java.util.SplittableRandom rng = new java.util.SplittableRandom(3);
            double[] xs = new double[n * d];
            for (int i = 0; i < xs.length; i++) {
                xs[i] = rng.nextDouble() * 2 - 1;
            }
            NDArray x = m.create(xs, new Shape(n, d));
            try (InputHessian ih = new InputHessian(net)) {
                double[] taylor = ih.full(x).toDoubleArray();
                double[] db = DoubleBackward.inputHessian(net, x);
                double[] fd = finiteDifferences(net, m, xs, n, d, out);
                double scale = 0;
                for (double v : fd) {
                    scale = Math.max(scale, Math.abs(v));
                }
                assertTrue(scale > 1e-3, "the Hessian should not vanish: " + scale);
                for (int i = 0; i < taylor.length; i++) {
                    assertEquals(db[i], taylor[i], 1e-10 * scale, "double backward, entry " + i);
                    assertEquals(fd[i], taylor[i], 1e-6 * scale, "finite differences, entry " + i);
                }
            }
        }
    }

    /** Central differences in float64 at steps h and h/2, Richardson-extrapolated to O(h⁴). */
    static double[] finiteDifferences(Network net, NDManager m, double[] xs, int n, int d, int out) {
        double[] coarse = centralDifferences(net, m, xs, n, d, out, 2e-3);
        double[] fine = centralDifferences(net, m, xs, n, d, out, 1e-3);
        double[] res = new double[fine.length];
        for (int i = 0; i < res.length; i++) {
            res[i] = (4 * fine[i] - coarse[i]) / 3;
        }
        return res;
    }

    static double[] centralDifferences(Network net, NDManager m, double[] xs, int n, int d, int out, double h) {
        double[] res = new double[n * out * d * d];
        for (int j = 0; j < d; j++) {
            for (int k = 0; k < d; k++) {
                double[][] f = new double[4][];
                int[][] signs = {{1, 1}, {1, -1}, {-1, 1}, {-1, -1}};
                for (int c = 0; c < 4; c++) {
                    double[] xp = xs.clone();
                    for (int s = 0; s < n; s++) {
                        xp[s * d + j] += signs[c][0] * h;
                        xp[s * d + k] += signs[c][1] * h;
                    }
                    try (NDManager sub = m.newSubManager()) {
                        net.attach(sub);
                        f[c] = net.forward(sub.create(xp, new Shape(n, d))).toDoubleArray();
                    }
                }
                for (int s = 0; s < n; s++) {
                    for (int q = 0; q < out; q++) {
                        int i = s * out + q;
                        res[((s * out + q) * d + j) * d + k] = (f[0][i] - f[1][i] - f[2][i] + f[3][i]) / (4 * h * h);
                    }
                }
            }
        }
        return res;
    }
}
