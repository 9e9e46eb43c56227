package dev.hesstrain.hessian;

import ai.djl.engine.Engine;
import ai.djl.ndarray.NDArray;
import ai.djl.ndarray.NDManager;
import ai.djl.ndarray.types.DataType;
import ai.djl.ndarray.types.Shape;
import ai.djl.training.GradientCollector;
import dev.hesstrain.model.Loss;
import dev.hesstrain.model.Network;
import dev.hesstrain.model.Torch;
import dev.hesstrain.spec.LossKind;

/**
 * Exact Hessians with respect to the input at given points, from one Taylor-mode pass (see
 * {@link InputHessian#full}): of every model output, or of each point's own loss term ℓₙ (the loss
 * of that point alone, so that the batch loss is their mean), composed from the output Hessians,
 * the outputs f and their Jacobian J (one first-order backward pass per output) by the chain rule
 * ∇²ℓ = Σ_q g_q ∇²f_q + Jᵀ A J, with the loss's own derivatives g = ∂ℓ/∂f and A = ∂²ℓ/∂f² at
 * each point ({@link Loss#outputDerivatives}).
 */
public final class PointHessians implements AutoCloseable {
    /** Elements of the largest Taylor array held at once (chunks of points are sized by it). */
    private static final long CHUNK_ELEMENTS = 32L << 20;

    private final Network network;
    private final InputHessian hessian;
    private final int d;
    private final int chunk;

    public PointHessians(Network network) {
        this.network = network;
        this.hessian = new InputHessian(network);
        this.d = network.inputs();
        this.chunk = chunk(network);
    }

    /** Points per Taylor pass for {@code network}, chosen to bound its memory (for preflight checks too). */
    public static int chunk(Network network) {
        long d = network.inputs();
        long pairs = d * (d + 1) / 2;
        long width = network.widest();
        return (int) Math.max(1, Math.min(4096, CHUNK_ELEMENTS / Math.max(1, Math.max(pairs, d) * width)));
    }

    /** Points per Taylor pass, chosen to bound its memory. */
    public int chunk() {
        return chunk;
    }

    /** The number of matrices per point: the outputs, or 1 for a loss. */
    public int matrices(LossKind loss) {
        return loss == null ? network.outputs() : 1;
    }

    /**
     * The Hessians [n, m, d, d] in float64 at the points x (row-major [n, d]), m = outputs or 1;
     * {@code loss} null for the outputs, else mse / cross_entropy / nll with targets {@code y}
     * ([n, o] values or [n] labels).
     */
    public double[] compute(double[] x, int n, double[] y, LossKind loss) {
        int o = network.outputs();
        int dd = d * d;
        try (NDManager step = network.manager().newSubManager()) {
            NDArray xs = step.create(x, new Shape(n, d)).toType(network.dtype(), false);
            double[] full = hessian.full(xs).toType(DataType.FLOAT64, false).toDoubleArray(); // [n, o, d, d]
            if (loss == null) {
                return full;
            }
            double[] value = new double[n * o];
            double[] jac = new double[n * o * d]; // jac[(s*o + q)*d + j] = ∂f_q/∂x_j at point s
            jacobian(step, xs, value, jac);
            double[] result = new double[Math.toIntExact((long) n * dd)];
            Loss l = Loss.of(loss);
            double[] g = new double[o];
            double[] a = new double[o * o];
            for (int s = 0; s < n; s++) {
                // ∇²ℓ = Σ_q g_q ∇²f_q + Jᵀ A J, with the loss's own g = ∂ℓ/∂f and A = ∂²ℓ/∂f²
                l.outputDerivatives(value, s * o, o, y, s, g, a);
                int at = s * dd;
                int hs = s * o * dd;
                int js = s * o * d;
                for (int q = 0; q < o; q++) {
                    if (g[q] != 0) {
                        for (int i = 0; i < dd; i++) {
                            result[at + i] += g[q] * full[hs + q * dd + i];
                        }
                    }
                    for (int r = 0; r < o; r++) {
                        double w = a[q * o + r];
                        if (w == 0) {
                            continue;
                        }
                        for (int j = 0; j < d; j++) {
                            double wj = w * jac[js + q * d + j];
                            for (int k = 0; k < d; k++) {
                                result[at + j * d + k] += wj * jac[js + r * d + k];
                            }
                        }
                    }
                }
            }
            return result;
        }
    }

    /** Outputs [n, o] and their input gradients, one first-order backward pass per output. */
    private void jacobian(NDManager step, NDArray xs, double[] value, double[] jac) {
        int o = network.outputs();
        int n = (int) xs.getShape().get(0);
        network.attach(step);
        NDArray leaf = xs.duplicate();
        leaf.setRequiresGradient(true);
        try (GradientCollector gc = Engine.getInstance().newGradientCollector()) {
            NDArray out = network.forward(leaf);
            System.arraycopy(out.toType(DataType.FLOAT64, false).toDoubleArray(), 0, value, 0, n * o);
            for (int q = 0; q < o; q++) {
                NDArray yq = out.get(":, " + q).sum();
                Torch.backward(yq, false);
                double[] g = leaf.getGradient().toType(DataType.FLOAT64, false).toDoubleArray();
                for (int s = 0; s < n; s++) {
                    System.arraycopy(g, s * d, jac, (s * o + q) * d, d);
                }
                Torch.zeroGrad(leaf);
            }
        }
    }

    @Override
    public void close() {
        hessian.close();
    }
}
