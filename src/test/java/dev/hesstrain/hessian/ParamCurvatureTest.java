package dev.hesstrain.hessian;

import static dev.hesstrain.hessian.ParamHessianTest.full;
import static dev.hesstrain.hessian.ParamHessianTest.layer;
import static dev.hesstrain.hessian.ParamHessianTest.linear;
import static dev.hesstrain.hessian.ParamHessianTest.uniform;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertNotNull;
import static org.junit.jupiter.api.Assertions.assertNull;
import static org.junit.jupiter.api.Assertions.assertTrue;

import ai.djl.engine.Engine;
import ai.djl.ndarray.NDArray;
import ai.djl.ndarray.NDManager;
import ai.djl.ndarray.types.DataType;
import ai.djl.ndarray.types.Shape;
import ai.djl.training.GradientCollector;
import dev.hesstrain.model.LogSoftmax;
import dev.hesstrain.model.Loss;
import dev.hesstrain.model.Network;
import dev.hesstrain.model.Parameter;
import dev.hesstrain.model.Torch;
import dev.hesstrain.spec.ActivationKind;
import dev.hesstrain.spec.LayerSpec;
import dev.hesstrain.spec.LayerType;
import dev.hesstrain.spec.LossKind;
import dev.hesstrain.spec.ModelSpec;
import java.util.ArrayList;
import java.util.List;
import java.util.Locale;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.EnumSource;

/**
 * The curvature backpropagation pass against the dense parameter Hessian formed the old way
 * (reverse-over-reverse rows, {@link ParamHessian}) and the GGN Jᵀ H_f J formed from the
 * Jacobian (one backward pass per output entry), in float64 to 1e-10.
 */
class ParamCurvatureTest {
    static final double TOL = 1e-10;

    static LayerSpec conv(int filters, int kernel, int stride, int padding) {
        return new LayerSpec(LayerType.CONV2D, null, null, filters, kernel, stride, padding);
    }

    /** The Jacobian of the model's top value (the logits of a model ending in log_softmax) w.r.t. θ: [N·O][P]. */
    static double[][] jacobian(Network net, double[] x, int n) {
        int top = net.layers().get(net.layers().size() - 1) instanceof LogSoftmax ? net.layers().size() - 1
                : net.layers().size();
        int o = net.outputs();
        int p = (int) net.parameterCount();
        double[][] j = new double[n * o][p];
        for (int r = 0; r < n * o; r++) {
            try (NDManager step = net.manager().newSubManager()) {
                net.attach(step);
                for (Parameter q : net.parameters()) {
                    q.array().setRequiresGradient(true);
                }
                try (GradientCollector gc = Engine.getInstance().newGradientCollector()) {
                    NDArray h = step.create(x, new Shape(n).addAll(net.sampleShape()));
                    for (int l = 0; l < top; l++) {
                        h = net.layers().get(l).forward(h);
                    }
                    NDArray pick = h.reshape(-1).get(r);
                    Torch.backward(pick, false);
                }
                int at = 0;
                for (Parameter q : net.parameters()) {
                    double[] g = q.array().getGradient().toType(DataType.FLOAT64, false).toDoubleArray();
                    System.arraycopy(g, 0, j[r], at, g.length);
                    at += g.length;
                    Torch.zeroGrad(q.array());
                }
            }
        }
        return j;
    }

    /** Σ_n J_nᵀ A_n J_n / N with A_n the per-sample loss Hessian on the model's top value. */
    static double[][] ggnFromJacobian(Network net, double[] x, int n, double[] y, LossKind loss) {
        double[][] j = jacobian(net, x, n);
        int o = net.outputs();
        int p = (int) net.parameterCount();
        double[] f = top(net, x, n);
        Loss l = loss == LossKind.MSE ? Loss.MSE : Loss.CROSS_ENTROPY; // nll after log_softmax: cross-entropy on the logits
        double[][] g = new double[p][p];
        double[] grad = new double[o];
        double[] a = new double[o * o];
        for (int s = 0; s < n; s++) {
            l.outputDerivatives(f, s * o, o, y, s, grad, a);
            for (int q = 0; q < o; q++) {
                for (int r = 0; r < o; r++) {
                    double w = a[q * o + r] / n;
                    if (w == 0) {
                        continue;
                    }
                    double[] jq = j[s * o + q];
                    double[] jr = j[s * o + r];
                    for (int i = 0; i < p; i++) {
                        double wi = w * jq[i];
                        for (int k = 0; k < p; k++) {
                            g[i][k] += wi * jr[k];
                        }
                    }
                }
            }
        }
        return g;
    }

    static double[] top(Network net, double[] x, int n) {
        int top = net.layers().get(net.layers().size() - 1) instanceof LogSoftmax ? net.layers().size() - 1
                : net.layers().size();
        try (NDManager step = net.manager().newSubManager()) {
            net.attach(step);
            NDArray h = step.create(x, new Shape(n).addAll(net.sampleShape()));
            for (int l = 0; l < top; l++) {
                h = net.layers().get(l).forward(h);
            }
            return h.toType(DataType.FLOAT64, false).toDoubleArray();
        }
    }

    static double[] diagonalOf(double[][] h) {
        double[] d = new double[h.length];
        for (int i = 0; i < h.length; i++) {
            d[i] = h[i][i];
        }
        return d;
    }

    /** A V for A [p][p] and a row-major block V [p, k]. */
    static double[] times(double[][] a, double[] v, int k) {
        int p = a.length;
        double[] out = new double[p * k];
        for (int i = 0; i < p; i++) {
            for (int j = 0; j < p; j++) {
                for (int c = 0; c < k; c++) {
                    out[i * k + c] += a[i][j] * v[j * k + c];
                }
            }
        }
        return out;
    }

    static double maxAbs(double[] v) {
        double m = 0;
        for (double d : v) {
            m = Math.max(m, Math.abs(d));
        }
        return m;
    }

    static void assertClose(double[] expected, double[] actual, double tol, String what) {
        assertEquals(expected.length, actual.length, what + ": length");
        double scale = Math.max(1, maxAbs(expected));
        for (int i = 0; i < expected.length; i++) {
            assertEquals(expected[i], actual[i], tol * scale, what + " entry " + i);
        }
    }

    static double[] targets(Network net, LossKind loss, int n) {
        if (loss == null) {
            return null;
        }
        if (loss == LossKind.MSE) {
            return uniform(77, n * net.outputs());
        }
        double[] y = new double[n];
        for (int i = 0; i < n; i++) {
            y[i] = (i * 7 + 3) % net.outputs();
        }
        return y;
    }

    /**
     * The pass's Hessian and GGN diagonals, value and gradient against the dense Hessian's
     * diagonal (reverse-over-reverse rows) and the GGN formed from the Jacobian.
     */
    static void check(ModelSpec spec, int inputs, LossKind loss, int n, long seed) {
        try (NDManager m = NDManager.newBaseManager()) {
            Network net = Network.build(spec, inputs, DataType.FLOAT64, m, seed);
            double[] x = uniform(seed + 1, n * inputs);
            for (int i = 0; i < x.length; i++) {
                x[i] *= 2;
            }
            double[] y = targets(net, loss, n);
            double[][] h;
            double value;
            double[] gradient;
            try (ParamHessian ph = new ParamHessian(net, x, n, y, loss, 4)) {
                h = full(ph);
                value = ph.value();
                gradient = ph.gradient();
            }
            ParamCurvature.Diagonals d;
            int p = h.length;
            int k = 3;
            double[] v = uniform(seed + 2, p * k);
            double[] w = uniform(seed + 3, p);
            double[] hv;
            try (ParamCurvature pc = new ParamCurvature(net, x, n, y, loss, 0, 0);
                    NDManager b = NDManager.newBaseManager()) {
                d = pc.diagonals(true, true);
                hv = pc.hessianMultiply(b.create(v, new Shape(p, k))).toDoubleArray();
                // a second product reuses the pass's prepared forward sweep and gradients
                double[] again = pc.hessianMultiply(b.create(w, new Shape(p, 1))).toDoubleArray();
                assertClose(times(h, w, 1), again, TOL, "a second H v on the same pass");
            }
            assertClose(times(h, v, k), hv, TOL, "H V by forward-over-reverse");
            assertClose(diagonalOf(h), d.hessian(), TOL, "Hessian diagonal");
            assertEquals(value, d.value(), 1e-12 * Math.max(1, Math.abs(value)), "value");
            assertClose(gradient, d.gradient(), TOL, "gradient");
            if (loss != null) {
                double[][] g = ggnFromJacobian(net, x, n, y, loss);
                assertClose(diagonalOf(g), d.ggn(), TOL, "GGN diagonal");
            } else {
                assertClose(new double[d.ggn().length], d.ggn(), 0, "GGN of the output");
            }
        }
    }

    @Test
    void denseTanhWithSeveralMseOutputs() {
        check(new ModelSpec(null, List.of(linear(4), layer("tanh"), linear(3), layer("tanh"), linear(3), layer("tanh"),
                linear(3))), 2, LossKind.MSE, 5, 1);
    }

    @Test
    void crossEntropyWithMoreClassesThanHiddenUnitsGoesDense() {
        check(new ModelSpec(null, List.of(linear(2), layer("sigmoid"), linear(5))), 3, LossKind.CROSS_ENTROPY, 6, 2);
    }

    @Test
    void logSoftmaxWithNllIsCrossEntropyOnTheLogits() {
        check(new ModelSpec(null, List.of(linear(4), layer("softplus"), linear(3), layer("log_softmax"))), 2,
                LossKind.NLL, 5, 3);
    }

    @Test
    void logSoftmaxWithCrossEntropy() {
        check(new ModelSpec(null, List.of(linear(4), layer("gelu"), linear(3), layer("log_softmax"))), 2,
                LossKind.CROSS_ENTROPY, 5, 4);
    }

    @ParameterizedTest
    @EnumSource(ActivationKind.class)
    void everyActivation(ActivationKind kind) {
        String a = kind.name().toLowerCase(Locale.ROOT);
        check(new ModelSpec(null, List.of(linear(5), layer(a), linear(4), layer(a), linear(2))), 3, LossKind.MSE, 4,
                10 + kind.ordinal());
    }

    @Test
    void reluBetweenSmoothLayers() {
        check(new ModelSpec(null, List.of(linear(4), layer("tanh"), linear(4), layer("relu"), linear(4),
                layer("sigmoid"), linear(3))), 3, LossKind.CROSS_ENTROPY, 6, 5);
    }

    @Test
    void convolutionWithStrideAndPaddingAndFlatten() {
        check(new ModelSpec(List.of(2, 5, 5), List.of(conv(3, 3, 2, 1), layer("tanh"), conv(2, 2, 1, 0), layer("silu"),
                layer("flatten"), linear(3))), 50, LossKind.CROSS_ENTROPY, 3, 6);
    }

    @Test
    void convolutionWithoutActivationsAsConv12() {
        check(new ModelSpec(List.of(1, 6, 6), List.of(conv(4, 3, 1, 1), layer("flatten"), linear(5))), 36,
                LossKind.CROSS_ENTROPY, 4, 7);
    }

    @Test
    void convolutionMseAndLinearWithoutBias() {
        check(new ModelSpec(List.of(1, 4, 4), List.of(conv(2, 3, 1, 1), layer("sin"), layer("flatten"),
                new LayerSpec(LayerType.LINEAR, 4, false, null, null, null, null), layer("tanh"), linear(2))), 16,
                LossKind.MSE, 3, 8);
    }

    @Test
    void theMeanOutputHasOnlyTheResidual() {
        check(new ModelSpec(null, List.of(linear(3), layer("tanh"), linear(1))), 2, null, 4, 9);
    }

    /** The GGN operator's products against Jᵀ H_f J from the Jacobian. */
    @ParameterizedTest
    @EnumSource(value = LossKind.class)
    void ggnProductsAgreeWithTheJacobianSandwich(LossKind loss) {
        List<LayerSpec> layers = new ArrayList<>(List.of(conv(2, 3, 2, 1), layer("tanh"), layer("flatten"), linear(3)));
        if (loss == LossKind.NLL) {
            layers.add(layer("log_softmax"));
        }
        int n = 3;
        try (NDManager m = NDManager.newBaseManager()) {
            Network net = Network.build(new ModelSpec(List.of(1, 4, 4), layers), 16, DataType.FLOAT64, m, 21);
            double[] x = uniform(22, n * 16);
            double[] y = targets(net, loss, n);
            double[][] g = ggnFromJacobian(net, x, n, y, loss);
            int p = g.length;
            int k = 3;
            double[] v = uniform(23, p * k);
            try (ParamCurvature pc = new ParamCurvature(net, x, n, y, loss, 0, 0);
                    NDManager b = NDManager.newBaseManager()) {
                double[] gv = pc.multiply(b.create(v, new Shape(p, k))).toDoubleArray();
                assertClose(times(g, v, k), gv, TOL, "G V");
                assertEquals(k, pc.products());
                double[] again = pc.multiply(b.create(v, new Shape(p, k))).toDoubleArray();
                assertClose(times(g, v, k), again, TOL, "G V again, on the prepared pass");
            }
        }
    }

    /** The Fisher's diagonal is the diagonal of the matrix its products give (the same sampled labels), and near the GGN's. */
    @ParameterizedTest
    @EnumSource(value = LossKind.class, names = {"MSE", "CROSS_ENTROPY"})
    void monteCarloFisherIsConsistentAndApproachesTheGgn(LossKind loss) {
        int n = 4;
        try (NDManager m = NDManager.newBaseManager()) {
            Network net = Network.build(new ModelSpec(null, List.of(linear(3), layer("tanh"), linear(3))), 2,
                    DataType.FLOAT64, m, 31);
            double[] x = uniform(32, n * 2);
            double[] y = targets(net, loss, n);
            int p = (int) net.parameterCount();
            double[] fisherDiag;
            double[] fromProducts = new double[p];
            try (ParamCurvature pc = new ParamCurvature(net, x, n, y, loss, 2, 5);
                    NDManager b = NDManager.newBaseManager()) {
                fisherDiag = pc.diagonals(false, false).ggn();
                double[] eye = new double[p * p];
                for (int i = 0; i < p; i++) {
                    eye[i * p + i] = 1;
                }
                double[] f = pc.multiply(b.create(eye, new Shape(p, p))).toDoubleArray();
                for (int i = 0; i < p; i++) {
                    fromProducts[i] = f[i * p + i];
                }
            }
            assertClose(fromProducts, fisherDiag, TOL, "Fisher diagonal against its products");
            double[] ggn;
            try (ParamCurvature pc = new ParamCurvature(net, x, n, y, loss, 0, 0)) {
                ggn = pc.diagonals(false, false).ggn();
            }
            double[] many;
            try (ParamCurvature pc = new ParamCurvature(net, x, n, y, loss, 20000, 6)) {
                many = pc.diagonals(false, false).ggn();
            }
            assertClose(ggn, many, 0.05, "Fisher with 20000 samples against the GGN");
            boolean differs = false;
            for (int i = 0; i < p; i++) {
                differs |= Math.abs(fisherDiag[i] - ggn[i]) > 1e-6 * Math.max(1, maxAbs(ggn));
            }
            assertTrue(differs, "two samples per point are not the exact GGN");
        }
    }

    @Test
    void float32AgreesWithFloat64() {
        ModelSpec spec = new ModelSpec(List.of(1, 4, 4), List.of(conv(2, 3, 1, 1), layer("tanh"), layer("flatten"),
                linear(4), layer("tanh"), linear(3)));
        int n = 3;
        double[][] diag = new double[2][];
        DataType[] types = {DataType.FLOAT64, DataType.FLOAT32};
        for (int t = 0; t < 2; t++) {
            try (NDManager m = NDManager.newBaseManager()) {
                Network net = Network.build(spec, 16, types[t], m, 41);
                double[] x = uniform(42, n * 16);
                try (ParamCurvature pc = new ParamCurvature(net, x, n, targets(net, LossKind.CROSS_ENTROPY, n),
                        LossKind.CROSS_ENTROPY, 0, 0)) {
                    diag[t] = pc.diagonals(true, false).hessian();
                }
            }
        }
        assertClose(diag[0], diag[1], 1e-5, "float32 against float64");
    }

    @Test
    void refusesLogSoftmaxInTheMiddleAndWithMse() {
        try (NDManager m = NDManager.newBaseManager()) {
            Network mid = Network.build(new ModelSpec(null, List.of(linear(3), layer("log_softmax"), linear(2))), 2,
                    DataType.FLOAT64, m, 1);
            assertNotNull(ParamCurvature.refusal(mid, LossKind.MSE));
            Network end = Network.build(new ModelSpec(null, List.of(linear(3), layer("log_softmax"))), 2,
                    DataType.FLOAT64, m, 1);
            assertTrue(ParamCurvature.refusal(end, LossKind.MSE).contains("log_softmax"));
            assertNull(ParamCurvature.refusal(end, LossKind.NLL));
        }
    }
}
