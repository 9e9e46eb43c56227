package dev.hesstrain.hessian;

import ai.djl.engine.Engine;
import ai.djl.ndarray.NDArray;
import ai.djl.ndarray.NDManager;
import ai.djl.ndarray.types.DataType;
import ai.djl.ndarray.types.Shape;
import ai.djl.training.GradientCollector;
import dev.hesstrain.model.Network;
import dev.hesstrain.model.Torch;
import java.util.function.Function;

/**
 * Second derivatives by reverse-over-reverse automatic differentiation: a first backward pass
 * with {@code create_graph}, then one backward pass per Hessian-vector product. A leaf that
 * receives a gradient with a graph forms a reference cycle with it, so this is for one-shot
 * inspection and cross-checks, never for a training loop.
 */
public final class DoubleBackward {
    private DoubleBackward() {}

    /** The input Hessians [N, outputs, d, d] at x [N, d], in float64. */
    public static double[] inputHessian(Network net, NDArray x) {
        long n = x.getShape().get(0);
        int d = (int) x.getShape().get(1);
        int o = net.outputs();
        double[] out = new double[Math.toIntExact(n * o * d * d)];
        try (NDManager scope = x.getManager().newSubManager()) {
            net.attach(scope);
            for (int q = 0; q < o; q++) {
                final int output = q;
                NDArray leaf = x.duplicate();
                leaf.attach(scope);
                double[][] rows = hvpRows(leaf, d, v -> net.forward(v).get(":, " + output).sum());
                for (int j = 0; j < d; j++) {
                    for (int s = 0; s < n; s++) {
                        for (int k = 0; k < d; k++) {
                            out[((s * o + q) * d + j) * d + k] = rows[j][s * d + k];
                        }
                    }
                }
            }
        }
        return out;
    }

    /**
     * For a scalar f(leaf) summed over independent samples, the rows ∂/∂leaf (∂f/∂leaf[:, j]) for
     * j < d: entry [j][s*d + k] is ∂²f/∂x_{s,j}∂x_{s,k}.
     */
    private static double[][] hvpRows(NDArray leaf, int d, Function<NDArray, NDArray> f) {
        NDArray x = leaf;
        x.setRequiresGradient(true);
        double[][] rows = new double[d][];
        try (GradientCollector gc = Engine.getInstance().newGradientCollector()) {
            NDArray y = f.apply(x);
            Torch.backward(y, true);
            // duplicate() clones without the graph: a differentiable copy keeps it, so x.grad can be
            // zeroed. add(0), not mul(1): see Constants.
            NDArray g = x.getGradient().add(0);
            Torch.zeroGrad(x);
            for (int j = 0; j < d; j++) {
                NDArray gj = g.get(":, " + j).sum();
                Torch.backward(gj, false);
                rows[j] = x.getGradient().toType(DataType.FLOAT64, true).toDoubleArray();
                Torch.zeroGrad(x);
            }
        }
        return rows;
    }
}
