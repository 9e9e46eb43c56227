package dev.hesstrain.hessian;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import ai.djl.engine.Engine;
import ai.djl.ndarray.NDArray;
import ai.djl.ndarray.NDManager;
import ai.djl.ndarray.types.DataType;
import ai.djl.ndarray.types.Shape;
import ai.djl.pytorch.engine.PtNDArray;
import ai.djl.pytorch.jni.JniUtils;
import ai.djl.training.GradientCollector;
import dev.hesstrain.model.Network;
import dev.hesstrain.model.Parameter;
import dev.hesstrain.spec.ActivationKind;
import dev.hesstrain.spec.LayerSpec;
import dev.hesstrain.spec.LayerType;
import dev.hesstrain.spec.Norm;
import dev.hesstrain.spec.ModelSpec;
import java.util.ArrayList;
import java.util.List;
import java.util.SplittableRandom;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.ValueSource;

/**
 * The closed-form curvature pass against the two other exact methods (Taylor pairs, double
 * backward) and float64 central differences, for every layer and activation type, several
 * outputs, conv2d with stride and padding, log_softmax and inputs from d = 1 to 70; its four
 * norms by both Frobenius ways against the norms of the finite-difference Hessians; and the
 * gradients of its penalty against those of the Taylor pass.
 */
public class ClosedFormTest {

    static LayerSpec linear(int units) {
        return new LayerSpec(LayerType.LINEAR, units, null, null, null, null, null);
    }

    static LayerSpec layer(String type) {
        return new LayerSpec(LayerType.parse(type), null, null, null, null, null, null);
    }

    static LayerSpec conv(int filters, int kernel, int stride, int padding) {
        return new LayerSpec(LayerType.CONV2D, null, null, filters, kernel, stride, padding);
    }

    public static Network mlp(NDManager m, String act, int d, int out, DataType dtype, long seed) {
        List<LayerSpec> layers = new ArrayList<>();
        for (int units : new int[] {7, 6}) {
            layers.add(linear(units));
            layers.add(layer(act));
        }
        layers.add(linear(out));
        return Network.build(new ModelSpec(null, layers), d, dtype, m, seed);
    }

    public static double[] points(int n, int d, long seed) {
        SplittableRandom rng = new SplittableRandom(seed);
        double[] xs = new double[n * d];
        for (int i = 0; i < xs.length; i++) {
            xs[i] = rng.nextDouble() * 2 - 1;
        }
        return xs;
    }

    static double maxAbs(double[] v) {
        double s = 0;
        for (double x : v) {
            s = Math.max(s, Math.abs(x));
        }
        return s;
    }

    /**
     * Central differences in float64 for the pairs j ≤ k (mirrored), all perturbed points in one
     * forward pass, at steps h and h/2, Richardson-extrapolated to O(h⁴): [n, out, d, d].
     */
    static double[] finiteDifferences(Network net, NDManager m, double[] xs, int n, int d, int out) {
        double[] coarse = central(net, m, xs, n, d, out, 2e-3);
        double[] fine = central(net, m, xs, n, d, out, 1e-3);
        double[] res = new double[fine.length];
        for (int i = 0; i < res.length; i++) {
            res[i] = (4 * fine[i] - coarse[i]) / 3;
        }
        return res;
    }

    private static double[] central(Network net, NDManager m, double[] xs, int n, int d, int out, double h) {
        int pairs = d * (d + 1) / 2;
        int[][] signs = {{1, 1}, {1, -1}, {-1, 1}, {-1, -1}};
        double[] batch = new double[pairs * 4 * n * d];
        int row = 0;
        for (int j = 0; j < d; j++) {
            for (int k = j; k < d; k++) {
                for (int[] sg : signs) {
                    for (int s = 0; s < n; s++) {
                        System.arraycopy(xs, s * d, batch, row * d, d);
                        batch[row * d + j] += sg[0] * h;
                        batch[row * d + k] += sg[1] * h;
                        row++;
                    }
                }
            }
        }
        double[] f;
        try (NDManager sub = m.newSubManager()) {
            net.attach(sub);
            f = net.forward(sub.create(batch, new Shape(row, d))).toType(DataType.FLOAT64, false).toDoubleArray();
        }
        double[] res = new double[n * out * d * d];
        int p = 0;
        for (int j = 0; j < d; j++) {
            for (int k = j; k < d; k++) {
                int base = p * 4 * n;
                for (int s = 0; s < n; s++) {
                    for (int q = 0; q < out; q++) {
                        double v = (f[(base + s) * out + q] - f[(base + n + s) * out + q]
                                - f[(base + 2 * n + s) * out + q] + f[(base + 3 * n + s) * out + q]) / (4 * h * h);
                        res[((s * out + q) * d + j) * d + k] = v;
                        res[((s * out + q) * d + k) * d + j] = v;
                    }
                }
                p++;
            }
        }
        return res;
    }

    /** Norm of each sample's Hessians summed over outputs, from [n, out, d, d]. */
    static double[] norms(double[] h, int n, int out, int d, Norm norm) {
        double[] r = new double[n];
        for (int s = 0; s < n; s++) {
            for (int q = 0; q < out; q++) {
                double[][] m = new double[d][d];
                for (int j = 0; j < d; j++) {
                    for (int k = 0; k < d; k++) {
                        m[j][k] = h[((s * out + q) * d + j) * d + k];
                    }
                }
                r[s] += HutchinsonNormTest.reference(norm, m);
            }
        }
        return r;
    }

    /**
     * All three exact methods and the finite differences agree on the full Hessians, and the four
     * closed-form norms, by Gram and by formed H, agree with the norms of the finite-difference
     * Hessians. {@code fdTolerance} is relative to the largest entry.
     */
    static void checkAll(Network net, NDManager m, int n, long seed, boolean differences) {
        int d = net.inputs();
        int out = net.outputs();
        double[] xs = points(n, d, seed);
        try (NDManager sub = m.newSubManager();
                InputHessian closed = new InputHessian(net, InputHessian.Method.CLOSED_FORM);
                InputHessian taylor = new InputHessian(net, InputHessian.Method.TAYLOR)) {
            assertEquals(InputHessian.Method.CLOSED_FORM, closed.method());
            NDArray x = sub.create(xs, new Shape(n, d));
            double[] cf = closed.full(x).toDoubleArray();
            double[] tp = taylor.full(x).toDoubleArray();
            double[] db = DoubleBackward.inputHessian(net, x);
            double scale = Math.max(maxAbs(tp), 1e-300);
            assertTrue(maxAbs(tp) > 1e-3, "the Hessian should not vanish: " + maxAbs(tp));
            assertArrayEquals(tp, cf, 1e-12 * scale, "closed form against Taylor pairs");
            assertArrayEquals(db, cf, 1e-12 * scale, "closed form against double backward");
            double[] reference = tp;
            if (differences) {
                double[] fd = finiteDifferences(net, m, xs, n, d, out);
                assertArrayEquals(fd, cf, 1e-6 * scale, "closed form against central differences");
                reference = fd;
            }
            for (boolean featureMajor : net.featureMajor() ? new boolean[] {false, true} : new boolean[] {false}) {
                for (ClosedForm.Frobenius way : ClosedForm.Frobenius.values()) {
                    ClosedForm.Norms norms = new ClosedForm.Norms(net.curvature(x, eye(sub, d), eye(sub, out), featureMajor), way);
                    for (Norm norm : Norm.values()) {
                        double[] expected = norms(reference, n, out, d, norm);
                        double[] got = norms.get(norm).toDoubleArray();
                        double tol = (differences ? 1e-5 : 1e-10) * Math.max(1, maxAbs(norms(reference, n, out, d, Norm.FROBENIUS)));
                        assertArrayEquals(expected, got, tol, way + " " + norm + (featureMajor ? " feature-major" : ""));
                    }
                }
            }
        }
    }

    private static NDArray eye(NDManager m, int k) {
        return m.eye(k).toType(DataType.FLOAT64, false).expandDims(1);
    }

    @ParameterizedTest
    @ValueSource(strings = {"tanh", "sigmoid", "softplus", "gelu", "silu", "sin"})
    void everySmoothActivationAgreesWithTheOtherMethodsAndFiniteDifferences(String act) {
        try (NDManager m = NDManager.newBaseManager()) {
            checkAll(mlp(m, act, 3, 3, DataType.FLOAT64, 7), m, 4, 3, true);
        }
    }

    /** identity and relu have σ'' = 0: a network of them has a zero Hessian, by every method. */
    @ParameterizedTest
    @ValueSource(strings = {"identity", "relu"})
    void piecewiseLinearActivationsGiveZeroHessians(String act) {
        try (NDManager m = NDManager.newBaseManager()) {
            Network net = mlp(m, act, 3, 2, DataType.FLOAT64, 7);
            NDArray x = m.create(points(4, 3, 1), new Shape(4, 3));
            try (InputHessian ih = new InputHessian(net)) {
                assertEquals(0, maxAbs(ih.full(x).toDoubleArray()));
                for (Norm norm : Norm.values()) {
                    assertEquals(0, maxAbs(ih.exact(x, norm, false).norm().toDoubleArray()), norm.id());
                }
            }
            if (act.equals("relu")) { // an affine network's gradient has no graph for double backward
                assertEquals(0, maxAbs(DoubleBackward.inputHessian(net, x)), 1e-15);
            }
        }
    }

    /** relu between smooth layers: its σ' gates the adjoints and the Jacobians. */
    @Test
    void reluBetweenSmoothLayers() {
        try (NDManager m = NDManager.newBaseManager()) {
            List<LayerSpec> layers = List.of(linear(6), layer("tanh"), linear(5), layer("relu"), linear(5),
                    layer("softplus"), linear(2));
            checkAll(Network.build(new ModelSpec(null, layers), 3, DataType.FLOAT64, m, 2), m, 5, 4, false);
        }
    }

    /** d = 1, 2, 17 (the upper-triangle layout of the Taylor pass) and 70, several outputs. */
    @ParameterizedTest
    @ValueSource(ints = {1, 2, 17, 70})
    void inputSizesFromOneToSeventy(int d) {
        try (NDManager m = NDManager.newBaseManager()) {
            checkAll(mlp(m, "tanh", d, 3, DataType.FLOAT64, 11 + d), m, 3, d, d <= 17);
        }
    }

    /**
     * The feature-major pass (d ≤ {@link ClosedForm#ELEMENTWISE_MAX_DIRECTIONS}: H and its diagonal
     * formed elementwise) gives what the row-major pass gives, to 1e-12, for every quantity of its
     * norms: the Hessians of every output, their diagonals, traces, per-output Frobenius norms, the
     * four norms by both Frobenius ways, the directional second derivatives and the rows and
     * weights (as the Hessians Rᵀ diag(w) R); with the identity seed and with one random
     * combination of the outputs (its adjoints carry no output axis); beyond the elementwise range
     * (d = 7) by the row-major products on views.
     */
    @ParameterizedTest
    @ValueSource(strings = {"1,1", "2,1", "2,3", "3,1", "4,2", "6,1", "6,3", "7,2"})
    void theFeatureMajorPassEqualsTheRowMajorPass(String dOut) {
        int d = Integer.parseInt(dOut.split(",")[0]);
        int out = Integer.parseInt(dOut.split(",")[1]);
        int n = 5;
        try (NDManager m = NDManager.newBaseManager()) {
            Network net = mlp(m, "softplus", d, out, DataType.FLOAT64, 40 + d);
            assertTrue(net.featureMajor());
            NDArray x = m.create(points(n, d, d), new Shape(n, d));
            NDArray combination = m.create(points(n * out, 1, 9), new Shape(1, n, out));
            for (NDArray seed : List.of(eye(m, out), combination)) {
                for (ClosedForm.Frobenius way : ClosedForm.Frobenius.values()) {
                    ClosedForm.Norms rows = new ClosedForm.Norms(net.curvature(x, eye(m, d), seed, false), way);
                    ClosedForm.Norms cols = new ClosedForm.Norms(net.curvature(x, eye(m, d), seed, true), way);
                    double[] full = rows.full().toDoubleArray();
                    double tol = 1e-12 * maxAbs(full);
                    assertTrue(maxAbs(full) > 1e-3, "the Hessians should not vanish");
                    String what = "d " + d + ", " + seed.getShape().get(0) + " seed(s), " + way + ": ";
                    assertArrayEquals(full, cols.full().toDoubleArray(), tol, what + "Hessians");
                    assertArrayEquals(rows.value().toDoubleArray(), cols.value().toDoubleArray(), 1e-14, what + "value");
                    assertArrayEquals(rows.diagonals().toDoubleArray(), cols.diagonals().toDoubleArray(), tol, what + "diagonals");
                    assertArrayEquals(rows.traces().toDoubleArray(), cols.traces().toDoubleArray(), tol, what + "traces");
                    double sq = tol * maxAbs(full);
                    assertArrayEquals(rows.frobeniusPerOutput().toDoubleArray(), cols.frobeniusPerOutput().toDoubleArray(), sq,
                            what + "Frobenius per output");
                    for (Norm norm : Norm.values()) {
                        assertArrayEquals(rows.get(norm).toDoubleArray(), cols.get(norm).toDoubleArray(), sq, what + norm);
                    }
                    try (dev.hesstrain.model.Pairs pairs = dev.hesstrain.model.Pairs.full(d)) {
                        assertArrayEquals(rows.directional(pairs).toDoubleArray(), cols.directional(pairs).toDoubleArray(), tol,
                                what + "directional");
                    }
                    NDArray[] rw = cols.rowsAndWeights(); // [K, N, r], [O, N, r]
                    NDArray r = rw[0].transpose(1, 2, 0).expandDims(1); // [N, 1, r, K]
                    NDArray formed = r.transpose(0, 1, 3, 2).matMul(r.mul(rw[1].transpose(1, 0, 2).expandDims(3)));
                    assertArrayEquals(full, formed.toDoubleArray(), tol, what + "rows and weights");
                }
            }
        }
    }

    /** log_softmax at the end (a classifier's log-probabilities), and in the middle. */
    @Test
    void logSoftmax() {
        try (NDManager m = NDManager.newBaseManager()) {
            List<LayerSpec> end = List.of(linear(6), layer("gelu"), linear(4), layer("log_softmax"));
            checkAll(Network.build(new ModelSpec(null, end), 5, DataType.FLOAT64, m, 3), m, 4, 8, true);
            List<LayerSpec> middle = List.of(linear(4), layer("log_softmax"), linear(3));
            checkAll(Network.build(new ModelSpec(null, middle), 3, DataType.FLOAT64, m, 4), m, 4, 9, true);
        }
    }

    /**
     * conv2d with stride and padding (the transposed convolution of the adjoint: stride 2 with
     * the skipped last row and column; padding beyond k − 1), flatten, then dense layers.
     */
    @ParameterizedTest
    @ValueSource(strings = {"3,1,0", "3,2,1", "2,2,0", "2,1,2", "3,2,2"})
    void conv2dWithStrideAndPadding(String kernelStridePadding) {
        String[] ksp = kernelStridePadding.split(",");
        int k = Integer.parseInt(ksp[0]);
        int s = Integer.parseInt(ksp[1]);
        int p = Integer.parseInt(ksp[2]);
        try (NDManager m = NDManager.newBaseManager()) {
            List<LayerSpec> layers = List.of(conv(3, k, s, p), layer("tanh"), conv(2, 2, 1, 1), layer("sin"),
                    layer("flatten"), linear(3), layer("silu"), linear(2));
            Network net = Network.build(new ModelSpec(List.of(2, 5, 4), layers), 40, DataType.FLOAT64, m, 5);
            checkAll(net, m, 2, 6, true);
        }
    }

    /** f(x) = Σ pᵢ sin(xᵢ): H = diag(−pᵢ sin xᵢ), through the closed form. */
    @Test
    void sineHasAnalyticDiagonalHessian() {
        try (NDManager m = NDManager.newBaseManager()) {
            NDManager nm = m.newSubManager();
            double[] p = {3, 2, 3, 2, 3};
            Network net = Network.of(nm, List.of(new dev.hesstrain.model.Dense(nm.eye(5).toType(DataType.FLOAT64, false), null),
                    new dev.hesstrain.model.Activation(ActivationKind.SIN, constants(nm)),
                    new dev.hesstrain.model.Dense(nm.create(p, new Shape(1, 5)), null)), new Shape(5), 1, DataType.FLOAT64);
            double[] xs = {1, 2, 3, 4, 5};
            try (InputHessian ih = new InputHessian(net)) {
                assertEquals(InputHessian.Method.CLOSED_FORM, ih.method());
                NDArray x = m.create(xs, new Shape(1, 5));
                double[] h = ih.full(x).toDoubleArray();
                double[] expected = new double[25];
                double tr = 0;
                double sq = 0;
                for (int i = 0; i < 5; i++) {
                    expected[i * 5 + i] = -p[i] * Math.sin(xs[i]);
                    tr += expected[i * 5 + i];
                    sq += expected[i * 5 + i] * expected[i * 5 + i];
                }
                assertArrayEquals(expected, h, 1e-14);
                assertEquals(tr * tr, ih.exact(x, Norm.TRACE, false).norm().getDouble(0), 1e-12);
                assertEquals(sq, ih.exact(x, Norm.DIAGONAL, false).norm().getDouble(0), 1e-12);
                assertEquals(sq, ih.exact(x, Norm.FROBENIUS, false).norm().getDouble(0), 1e-12);
                assertEquals(0, ih.exact(x, Norm.OFFDIAGONAL, false).norm().getDouble(0), 1e-12);
            }
        }
    }

    private static dev.hesstrain.model.Constants constants(NDManager m) {
        return Network.of(m, List.of(), new Shape(1), 1, DataType.FLOAT64).constants();
    }

    /** A layer without the structure (z³/6) is refused: the Taylor pass serves, with its exact diagonal. */
    @Test
    void aLayerWithoutTheStructureFallsBackToTaylor() {
        try (NDManager m = NDManager.newBaseManager()) {
            NDManager nm = m.newSubManager();
            Network net = Network.of(nm, List.of(new dev.hesstrain.model.Dense(nm.eye(5).toType(DataType.FLOAT64, false), null),
                    new InputHessianTest.Cube(), new dev.hesstrain.model.Dense(nm.create(new double[] {3, 2, 3, 2, 3}, new Shape(1, 5)), null)),
                    new Shape(5), 1, DataType.FLOAT64);
            assertEquals(1, net.firstWithoutCurvature());
            try (InputHessian ih = new InputHessian(net)) {
                assertEquals(InputHessian.Method.TAYLOR, ih.method());
                NDArray x = m.create(new double[] {1, 2, 3, 4, 5}, new Shape(1, 5));
                assertEquals(Math.pow(3 + 4 + 9 + 8 + 15, 2), ih.exact(x, Norm.TRACE, false).norm().getDouble(0), 1e-9);
            }
        }
    }

    /** float32: the closed form matches the float64 Hessian of the same weights to float32 precision. */
    @Test
    void float32() {
        try (NDManager m = NDManager.newBaseManager()) {
            Network net64 = mlp(m, "tanh", 6, 3, DataType.FLOAT64, 9);
            Network net32 = mlp(m, "tanh", 6, 3, DataType.FLOAT32, 9);
            double[] xs = points(5, 6, 2);
            try (InputHessian a = new InputHessian(net64); InputHessian b = new InputHessian(net32)) {
                double[] h64 = a.full(m.create(xs, new Shape(5, 6))).toDoubleArray();
                NDArray x32 = m.create(xs, new Shape(5, 6)).toType(DataType.FLOAT32, false);
                double[] h32 = b.full(x32).toDoubleArray();
                assertArrayEquals(h64, h32, 1e-5 * maxAbs(h64));
                for (Norm norm : Norm.values()) {
                    double[] e = norms(h64, 5, 3, 6, norm);
                    double[] g = b.exact(x32, norm, false).norm().toType(DataType.FLOAT64, false).toDoubleArray();
                    assertArrayEquals(e, g, 1e-4 * maxAbs(norms(h64, 5, 3, 6, Norm.FROBENIUS)), norm.id());
                }
            }
        }
    }

    /**
     * The penalty's gradients in the parameters, by one plain backward pass through the closed
     * form, equal those through the Taylor pass (the same function, two graphs), for every norm.
     */
    @ParameterizedTest
    @ValueSource(strings = {"frobenius", "trace", "diagonal", "offdiagonal"})
    void penaltyGradientsMatchTheTaylorPass(String normName) {
        Norm norm = Norm.parse(normName);
        try (NDManager m = NDManager.newBaseManager()) {
            List<LayerSpec> layers = List.of(linear(6), layer("tanh"), linear(5), layer("softplus"), linear(3),
                    layer("log_softmax"));
            Network net = Network.build(new ModelSpec(null, layers), 4, DataType.FLOAT64, m, 21);
            double[] xs = points(6, 4, 5);
            double[][] grads = new double[2][];
            for (int w = 0; w < 2; w++) {
                InputHessian.Method method = w == 0 ? InputHessian.Method.CLOSED_FORM : InputHessian.Method.TAYLOR;
                try (InputHessian ih = new InputHessian(net, method); NDManager step = m.newSubManager()) {
                    ih.attach(step);
                    for (Parameter p : net.parameters()) {
                        p.array().setRequiresGradient(true);
                        if (w > 0) {
                            JniUtils.zeroGrad((PtNDArray) p.array());
                        }
                    }
                    NDArray x = step.create(xs, new Shape(6, 4));
                    try (GradientCollector gc = Engine.getInstance().newGradientCollector()) {
                        gc.backward(ih.exact(x, norm, false).norm().sum());
                    }
                    List<Double> all = new ArrayList<>();
                    for (Parameter p : net.parameters()) {
                        for (double v : p.array().getGradient().toType(DataType.FLOAT64, false).toDoubleArray()) {
                            all.add(v);
                        }
                    }
                    grads[w] = all.stream().mapToDouble(Double::doubleValue).toArray();
                }
            }
            assertTrue(maxAbs(grads[1]) > 1e-4, "gradients vanish");
            assertArrayEquals(grads[1], grads[0], 1e-11 * maxAbs(grads[1]));
        }
    }

    /**
     * Training steps through the closed form (every norm, a conv2d and a log_softmax model, each
     * step in its own manager with one plain backward pass) leave no array behind: the count of
     * live arrays in the network's manager is the same after step 5 and step 30.
     */
    @ParameterizedTest
    @ValueSource(strings = {"dense", "conv"})
    void stepsLeaveNoArraysBehind(String model) {
        try (NDManager m = NDManager.newBaseManager()) {
            Network net = model.equals("dense")
                    ? Network.build(new ModelSpec(null, List.of(linear(6), layer("tanh"), linear(4), layer("log_softmax"))),
                            5, DataType.FLOAT32, m, 1)
                    : Network.build(new ModelSpec(List.of(1, 5, 5), List.of(conv(2, 3, 2, 1), layer("softplus"),
                            layer("flatten"), linear(2))), 25, DataType.FLOAT32, m, 1);
            for (Parameter p : net.parameters()) {
                p.array().setRequiresGradient(true);
            }
            int d = net.inputs();
            NDArray x = net.manager().create(points(8, d, 3), new Shape(8, d)).toType(DataType.FLOAT32, false);
            try (InputHessian ih = new InputHessian(net, InputHessian.Method.CLOSED_FORM)) {
                List<Integer> live = new ArrayList<>();
                for (int step = 0; step < 30; step++) {
                    try (NDManager s = net.manager().newSubManager()) {
                        dev.hesstrain.model.Scopes.tempAttach(s, x);
                        ih.attach(s);
                        Norm norm = Norm.values()[step % 4];
                        try (GradientCollector gc = Engine.getInstance().newGradientCollector()) {
                            InputHessian.Exact e = ih.exact(x, norm, true);
                            gc.backward(e.norm().mean().add(e.frobenius().mean()));
                        }
                    }
                    live.add(net.manager().getManagedArrays().size());
                }
                assertEquals(live.get(4), live.get(29), "live arrays after step 5 and 30: " + live);
            }
        }
    }

    @Test
    void theCheaperFrobeniusWay() {
        assertEquals(ClosedForm.Frobenius.GRAM, ClosedForm.choose(64, 64, 10)); // digits
        assertEquals(ClosedForm.Frobenius.FORMED, ClosedForm.choose(33, 2, 1)); // sin2pi
        assertEquals(ClosedForm.Frobenius.FORMED, ClosedForm.choose(2560, 50, 1)); // the wide Laplacian case
        assertEquals(ClosedForm.Frobenius.FORMED, ClosedForm.choose(32, 10, 1)); // diabetes, rows per sample
        assertEquals(ClosedForm.Frobenius.GRAM, ClosedForm.choose(32, 32, 10, 1)); // diabetes: W1's rows, one G
        assertEquals(ClosedForm.Frobenius.FORMED, ClosedForm.choose(768, 2560, 50, 1)); // wide, W1 shared
    }

    /**
     * The Gram Frobenius norm with the first layer's rows shared by every sample equals the
     * formed-H norm, and so do its gradients in the parameters, in float64: with a second term (the
     * shared block of G made once: n·r_s²·K = 64·24²·40 > 2²⁰, so the split path runs) and with
     * the first term alone (one G for every sample).
     */
    @ParameterizedTest
    @ValueSource(strings = {"tanh,sigmoid", "softplus"})
    void sharedRowsGramEqualsFormedHessians(String activations) {
        List<LayerSpec> layers = new ArrayList<>();
        for (String a : activations.split(",")) {
            layers.add(linear(layers.isEmpty() ? 24 : 12));
            layers.add(layer(a));
        }
        layers.add(linear(3));
        try (NDManager m = NDManager.newBaseManager()) {
            Network net = Network.build(new ModelSpec(null, layers), 40, DataType.FLOAT64, m, 8);
            for (Parameter p : net.parameters()) {
                p.array().setRequiresGradient(true);
            }
            double[] xs = points(64, 40, 9);
            double[][] values = new double[2][];
            double[][] grads = new double[2][];
            ClosedForm.Frobenius[] ways = {ClosedForm.Frobenius.GRAM, ClosedForm.Frobenius.FORMED};
            for (int w = 0; w < 2; w++) {
                try (NDManager step = m.newSubManager()) {
                    net.attach(step);
                    for (Parameter p : net.parameters()) {
                        if (w > 0) {
                            JniUtils.zeroGrad((PtNDArray) p.array());
                        }
                    }
                    NDArray x = step.create(xs, new Shape(64, 40));
                    try (GradientCollector gc = Engine.getInstance().newGradientCollector()) {
                        NDArray fro = new ClosedForm.Norms(net.curvature(x, eye(step, 40), eye(step, 3)), ways[w])
                                .get(Norm.FROBENIUS);
                        values[w] = fro.toType(DataType.FLOAT64, false).toDoubleArray();
                        gc.backward(fro.sum());
                    }
                    List<Double> all = new ArrayList<>();
                    for (Parameter p : net.parameters()) {
                        for (double v : p.array().getGradient().toType(DataType.FLOAT64, false).toDoubleArray()) {
                            all.add(v);
                        }
                    }
                    grads[w] = all.stream().mapToDouble(Double::doubleValue).toArray();
                }
            }
            assertTrue(maxAbs(values[1]) > 1e-9, "norms vanish: " + maxAbs(values[1]));
            assertArrayEquals(values[1], values[0], 1e-10 * maxAbs(values[1]), "Gram against formed H");
            assertTrue(maxAbs(grads[1]) > 1e-9, "gradients vanish: " + maxAbs(grads[1]));
            assertArrayEquals(grads[1], grads[0], 1e-10 * maxAbs(grads[1]), "their gradients");
        }
    }
}
