package dev.hesstrain.train;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import ai.djl.engine.Engine;
import ai.djl.ndarray.NDArray;
import ai.djl.ndarray.NDManager;
import ai.djl.ndarray.types.DataType;
import ai.djl.ndarray.types.Shape;
import ai.djl.training.GradientCollector;
import dev.hesstrain.model.Network;
import dev.hesstrain.model.Parameter;
import dev.hesstrain.spec.LayerSpec;
import dev.hesstrain.spec.LayerType;
import dev.hesstrain.spec.ModelSpec;
import dev.hesstrain.spec.OptimizerKind;
import java.util.List;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.EnumSource;

class OptimizerTest {
    /**
     * DJL's fused updates take their hyperparameters as float32: β₂ = 0.999 becomes 0.99900001,
     * so 1 − β₂ is off by 1.3e-5 relative and an Adam step of 0.01 by about 1e-7. A wrong rule
     * (no bias correction, say) is off by far more than this.
     */
    private static final double FLOAT32_HYPERPARAMETERS = 1e-6;

    /** Gradient c of the loss Σ c·w, so that the updates can be computed by hand. */
    private static void step(Optimizer opt, NDArray w, double[] c) {
        try (GradientCollector gc = Engine.getInstance().newGradientCollector()) {
            gc.backward(w.mul(w.getManager().create(c, w.getShape())).sum());
        }
        opt.step();
    }

    @Test
    void adamFollowsPyTorchsUpdateRule() {
        double lr = 0.01;
        double[] c = {0.5, -2, 1e-3};
        try (NDManager m = NDManager.newBaseManager()) {
            NDArray w = m.create(new double[] {1, 2, 3}, new Shape(3));
            Optimizer opt = new Optimizer(OptimizerKind.ADAM, lr, 0, List.of(new Parameter("w", w)), null);
            double[] expected = {1, 2, 3};
            double[] mean = new double[3];
            double[] var = new double[3];
            for (int t = 1; t <= 3; t++) {
                step(opt, w, c);
                for (int i = 0; i < 3; i++) { // torch.optim.Adam, defaults β = (0.9, 0.999), ε = 1e-8
                    mean[i] = 0.9 * mean[i] + 0.1 * c[i];
                    var[i] = 0.999 * var[i] + 0.001 * c[i] * c[i];
                    double mHat = mean[i] / (1 - Math.pow(0.9, t));
                    double vHat = var[i] / (1 - Math.pow(0.999, t));
                    expected[i] -= lr * mHat / (Math.sqrt(vHat) + 1e-8);
                }
                assertArrayEquals(expected, w.toDoubleArray(), FLOAT32_HYPERPARAMETERS, "step " + t);
            }
        }
    }

    @Test
    void sgdFollowsPyTorchsMomentumRule() {
        double lr = 0.1;
        double mu = 0.9;
        double[] c = {0.5, -2, 3};
        try (NDManager m = NDManager.newBaseManager()) {
            NDArray w = m.create(new double[] {1, 2, 3}, new Shape(3));
            Optimizer opt = new Optimizer(OptimizerKind.SGD, lr, mu, List.of(new Parameter("w", w)), null);
            double[] expected = {1, 2, 3};
            double[] buf = new double[3];
            for (int t = 1; t <= 3; t++) {
                step(opt, w, c);
                for (int i = 0; i < 3; i++) { // torch.optim.SGD: buf = μ·buf + g (g on the first step)
                    buf[i] = t == 1 ? c[i] : mu * buf[i] + c[i];
                    expected[i] -= lr * buf[i];
                }
                assertArrayEquals(expected, w.toDoubleArray(), FLOAT32_HYPERPARAMETERS, "step " + t);
            }
        }
    }

    /** One fused update of the network's flat parameter array equals one update per parameter. */
    @ParameterizedTest
    @EnumSource(OptimizerKind.class)
    void theFusedUpdateEqualsOneUpdatePerParameter(OptimizerKind kind) {
        List<LayerSpec> layers = List.of(new LayerSpec(LayerType.LINEAR, 4, null, null, null, null, null),
                new LayerSpec(LayerType.TANH, null, null, null, null, null, null),
                new LayerSpec(LayerType.LINEAR, 2, null, null, null, null, null));
        ModelSpec spec = new ModelSpec(null, layers);
        try (NDManager m = NDManager.newBaseManager()) {
            Network fused = Network.build(spec, 3, DataType.FLOAT64, m, 4);
            Network each = Network.build(spec, 3, DataType.FLOAT64, m, 4);
            Optimizer a = new Optimizer(kind, 0.05, 0.9, fused.parameters(), fused.flatParameters());
            Optimizer b = new Optimizer(kind, 0.05, 0.9, each.parameters(), null);
            double[] before = fused.flatParameters().toDoubleArray();
            NDArray x = m.create(new double[] {0.1, -0.4, 0.7, 0.3, 0.9, -0.2}, new Shape(2, 3));
            for (int t = 0; t < 3; t++) {
                for (Object[] pair : new Object[][] {{fused, a}, {each, b}}) {
                    Network net = (Network) pair[0];
                    try (GradientCollector gc = Engine.getInstance().newGradientCollector()) {
                        NDArray out = net.forward(x);
                        gc.backward(out.mul(out).sum());
                    }
                    ((Optimizer) pair[1]).step();
                }
            }
            for (int i = 0; i < fused.parameters().size(); i++) {
                Parameter p = fused.parameters().get(i);
                assertEquals(p.name(), each.parameters().get(i).name());
                assertArrayEquals(each.parameters().get(i).array().toDoubleArray(), p.array().toDoubleArray(), 1e-14,
                        p.name());
            }
            double[] after = fused.flatParameters().toDoubleArray();
            double moved = 0;
            for (int i = 0; i < after.length; i++) {
                moved = Math.max(moved, Math.abs(after[i] - before[i]));
            }
            assertTrue(moved > 1e-3, "the parameters should have moved");
        }
    }
}
