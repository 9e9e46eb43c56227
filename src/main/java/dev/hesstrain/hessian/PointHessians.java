package dev.hesstrain.hessian;

import ai.djl.engine.Engine;
import ai.djl.ndarray.NDArray;
import ai.djl.ndarray.NDManager;
import ai.djl.ndarray.types.DataType;
import ai.djl.ndarray.types.Shape;
import ai.djl.training.GradientCollector;
import dev.hesstrain.model.Network;
import dev.hesstrain.model.Torch;
import dev.hesstrain.spec.LossKind;

/**
 * Exact Hessians with respect to the input at given points, from one Taylor-mode pass (see
 * {@link InputHessian#full}): of every model output, or of each point's own loss term ℓₙ (the loss
 * of that point alone, so that the batch loss is their mean), composed from the output Hessians,
 * the outputs f and their Jacobian J (one first-order backward pass per output):
 *
 * <ul>
 *   <li>mse: ℓ = (1/o) Σ_q (f_q − y_q)², so ∇²ℓ = (2/o) Σ_q (∇f_q ∇f_qᵀ + (f_q − y_q) ∇²f_q);
 *   <li>cross_entropy: ℓ = −log softmax(f)_y, so ∇²ℓ = Σ_q (p_q − [q = y]) ∇²f_q + Jᵀ(diag p − p pᵀ)J;
 *   <li>nll: ℓ = −f_y, so ∇²ℓ = −∇²f_y.
 * </ul>
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
            for (int s = 0; s < n; s++) {
                int at = s * dd;
                int hs = s * o * dd;
                int js = s * o * d;
                switch (loss) {
                    case MSE -> {
                        for (int q = 0; q < o; q++) {
                            double r = value[s * o + q] - y[s * o + q];
                            int jq = js + q * d;
                            for (int j = 0; j < d; j++) {
                                for (int k = 0; k < d; k++) {
                                    result[at + j * d + k] +=
                                            2.0 / o * (jac[jq + j] * jac[jq + k] + r * full[hs + q * dd + j * d + k]);
                                }
                            }
                        }
                    }
                    case CROSS_ENTROPY -> {
                        int label = (int) y[s];
                        double[] pr = softmax(value, s * o, o);
                        double[] pj = new double[d];
                        for (int q = 0; q < o; q++) {
                            for (int j = 0; j < d; j++) {
                                pj[j] += pr[q] * jac[js + q * d + j];
                            }
                        }
                        for (int j = 0; j < d; j++) {
                            for (int k = 0; k < d; k++) {
                                double v = -pj[j] * pj[k];
                                for (int q = 0; q < o; q++) {
                                    double coef = pr[q] - (q == label ? 1 : 0);
                                    v += coef * full[hs + q * dd + j * d + k]
                                            + pr[q] * jac[js + q * d + j] * jac[js + q * d + k];
                                }
                                result[at + j * d + k] = v;
                            }
                        }
                    }
                    case NLL -> {
                        int label = (int) y[s];
                        for (int i = 0; i < dd; i++) {
                            result[at + i] = -full[hs + label * dd + i];
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

    private static double[] softmax(double[] v, int from, int len) {
        double max = Double.NEGATIVE_INFINITY;
        for (int i = 0; i < len; i++) {
            max = Math.max(max, v[from + i]);
        }
        double[] p = new double[len];
        double sum = 0;
        for (int i = 0; i < len; i++) {
            p[i] = Math.exp(v[from + i] - max);
            sum += p[i];
        }
        for (int i = 0; i < len; i++) {
            p[i] /= sum;
        }
        return p;
    }

    @Override
    public void close() {
        hessian.close();
    }
}
