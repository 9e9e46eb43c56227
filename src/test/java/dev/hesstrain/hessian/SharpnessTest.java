package dev.hesstrain.hessian;

import static dev.hesstrain.hessian.ParamHessianTest.full;
import static dev.hesstrain.hessian.ParamHessianTest.layer;
import static dev.hesstrain.hessian.ParamHessianTest.linear;
import static dev.hesstrain.hessian.ParamHessianTest.uniform;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertTrue;

import ai.djl.ndarray.NDManager;
import ai.djl.ndarray.types.DataType;
import dev.hesstrain.model.Network;
import dev.hesstrain.model.Weights;
import dev.hesstrain.spec.LayerSpec;
import dev.hesstrain.spec.LayerType;
import dev.hesstrain.spec.LossKind;
import dev.hesstrain.spec.ModelSpec;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import org.junit.jupiter.api.Test;

/** Sharpness against the top eigenvalue of the dense Hessian (reverse-over-reverse rows, EJML). */
class SharpnessTest {

    static double denseTop(Network net, double[] x, int n, double[] y, LossKind loss) {
        try (ParamHessian h = new ParamHessian(net, x, n, y, loss, 4)) {
            double[] v = SymmetricEigen.of(full(h)).values();
            double top = Double.NEGATIVE_INFINITY;
            for (double d : v) {
                top = Math.max(top, d);
            }
            return top;
        }
    }

    @Test
    void matchesTheDenseHessiansTopEigenvalueAndWarmStartsCutTheSteps() {
        int n = 6;
        try (NDManager m = NDManager.newBaseManager()) {
            Network net = Network.build(new ModelSpec(List.of(1, 4, 4), List.of(
                    new LayerSpec(LayerType.CONV2D, null, null, 2, 3, 2, 1), layer("tanh"), layer("flatten"), linear(4),
                    layer("sigmoid"), linear(3))), 16, DataType.FLOAT64, m, 3);
            double[] x = uniform(4, n * 16);
            double[] y = {0, 1, 2, 0, 1, 2};
            double expected = denseTop(net, x, n, y, LossKind.CROSS_ENTROPY);
            Sharpness s = new Sharpness(1e-8, 200, 0);
            Sharpness.Measurement cold = s.measure(net, x, n, y, LossKind.CROSS_ENTROPY);
            assertTrue(cold.converged());
            assertFalse(cold.warm());
            assertEquals(expected, cold.value(), 1e-9 * Math.abs(expected));
            assertEquals(cold.iterations(), cold.hvps());
            Sharpness.Measurement again = s.measure(net, x, n, y, LossKind.CROSS_ENTROPY);
            assertTrue(again.warm());
            assertEquals(expected, again.value(), 1e-9 * Math.abs(expected));
            assertTrue(again.iterations() < cold.iterations(), again + " after " + cold);
            // a small step of the weights: the warm start still finds the new top
            Map<String, double[]> w = new LinkedHashMap<>(Weights.snapshot(net));
            double[] first = w.values().iterator().next();
            for (int i = 0; i < first.length; i++) {
                first[i] += 0.01 * Math.sin(i);
            }
            Weights.restore(net, w);
            double moved = denseTop(net, x, n, y, LossKind.CROSS_ENTROPY);
            assertEquals(moved, s.measure(net, x, n, y, LossKind.CROSS_ENTROPY).value(), 1e-9 * Math.abs(moved));
        }
    }

    @Test
    void aModelThePassRefusesUsesReverseOverReverseProducts() {
        int n = 5;
        try (NDManager m = NDManager.newBaseManager()) {
            Network net = Network.build(new ModelSpec(null, List.of(linear(3), layer("log_softmax"), linear(1))), 2,
                    DataType.FLOAT64, m, 8);
            double[] x = uniform(9, n * 2);
            double[] y = uniform(10, n);
            assertTrue(ParamCurvature.refusal(net, LossKind.MSE) != null);
            double expected = denseTop(net, x, n, y, LossKind.MSE);
            Sharpness.Measurement r = new Sharpness(1e-8, 200, 1).measure(net, x, n, y, LossKind.MSE);
            assertEquals(expected, r.value(), 1e-9 * Math.max(1, Math.abs(expected)));
        }
    }
}
