package dev.hesstrain.hessian;

import ai.djl.ndarray.NDArray;
import ai.djl.ndarray.NDManager;
import ai.djl.ndarray.types.DataType;
import ai.djl.ndarray.types.Shape;
import dev.hesstrain.model.Layer;
import dev.hesstrain.model.Network;
import dev.hesstrain.model.Pairs;
import dev.hesstrain.model.Taylor;

/**
 * Exact Hessians with respect to the input at given points, from one Taylor-mode pass (see
 * {@link InputHessian}): of every model output, or of each point's own loss term ℓₙ (the loss of
 * that point alone, so that the batch loss is their mean):
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
        long pairs = (long) d * (d + 1) / 2;
        long width = widest(network);
        this.chunk = (int) Math.max(1, Math.min(4096, CHUNK_ELEMENTS / Math.max(1, Math.max(pairs, d) * width)));
    }

    /** The largest number of features of one sample between layers. */
    private static long widest(Network net) {
        Shape s = net.sampleShape();
        long w = s.size();
        for (Layer l : net.layers()) {
            s = l.outputShape(s);
            w = Math.max(w, s.size());
        }
        return w;
    }

    /** Points per Taylor pass, chosen to bound its memory. */
    public int chunk() {
        return chunk;
    }

    /** The number of matrices per point: the outputs, or 1 for a loss. */
    public int matrices(String loss) {
        return loss == null ? network.outputs() : 1;
    }

    /**
     * The Hessians [n, m, d, d] in float64 at the points x (row-major [n, d]), m = outputs or 1;
     * {@code loss} null for the outputs, else mse / cross_entropy / nll with targets {@code y}
     * ([n, o] values or [n] labels).
     */
    public double[] compute(double[] x, int n, double[] y, String loss) {
        int o = network.outputs();
        int m = matrices(loss);
        double[] result = new double[Math.toIntExact((long) n * m * d * d)];
        try (NDManager step = network.manager().newSubManager()) {
            NDArray xs = step.create(x, new Shape(n, d)).toType(network.dtype(), false);
            Taylor t = hessian.taylor(xs);
            double[] value = t.value().toType(DataType.FLOAT64, false).toDoubleArray();
            int jn = (int) t.jac().getShape().get(0);
            double[] jac = t.jac().toType(DataType.FLOAT64, false).toDoubleArray();
            Pairs pairs = hessian.pairs();
            int p = pairs.size();
            int hn = t.hess() == null ? 0 : (int) t.hess().getShape().get(0);
            double[] hess = t.hess() == null ? null : t.hess().toType(DataType.FLOAT64, false).toDoubleArray();
            double[][] h = new double[o][d * d];
            double[] jj = new double[d * o];
            for (int s = 0; s < n; s++) {
                // the output Hessians of point s, h[q][j*d+k]
                for (double[] hq : h) {
                    java.util.Arrays.fill(hq, 0);
                }
                if (hess != null) {
                    int base = (hn == 1 ? 0 : s) * p * o;
                    for (int pp = 0; pp < p; pp++) {
                        int a = pairs.a(pp);
                        int b = pairs.b(pp);
                        for (int q = 0; q < o; q++) {
                            double v = hess[base + pp * o + q];
                            h[q][a * d + b] = v;
                            h[q][b * d + a] = v;
                        }
                    }
                }
                if (loss == null) {
                    for (int q = 0; q < o; q++) {
                        System.arraycopy(h[q], 0, result, (s * o + q) * d * d, d * d);
                    }
                    continue;
                }
                System.arraycopy(jac, (jn == 1 ? 0 : s) * d * o, jj, 0, d * o); // jj[j*o+q] = ∂f_q/∂x_j
                int at = s * d * d;
                switch (loss) {
                    case "mse" -> {
                        for (int q = 0; q < o; q++) {
                            double r = value[s * o + q] - y[s * o + q];
                            for (int j = 0; j < d; j++) {
                                for (int k = 0; k < d; k++) {
                                    result[at + j * d + k] += 2.0 / o * (jj[j * o + q] * jj[k * o + q] + r * h[q][j * d + k]);
                                }
                            }
                        }
                    }
                    case "cross_entropy" -> {
                        int label = (int) y[s];
                        double[] pr = softmax(value, s * o, o);
                        double[] pj = new double[d];
                        for (int j = 0; j < d; j++) {
                            for (int q = 0; q < o; q++) {
                                pj[j] += pr[q] * jj[j * o + q];
                            }
                        }
                        for (int j = 0; j < d; j++) {
                            for (int k = 0; k < d; k++) {
                                double v = -pj[j] * pj[k];
                                for (int q = 0; q < o; q++) {
                                    double coef = pr[q] - (q == label ? 1 : 0);
                                    v += coef * h[q][j * d + k] + pr[q] * jj[j * o + q] * jj[k * o + q];
                                }
                                result[at + j * d + k] = v;
                            }
                        }
                    }
                    case "nll" -> {
                        int label = (int) y[s];
                        for (int i = 0; i < d * d; i++) {
                            result[at + i] = -h[label][i];
                        }
                    }
                    default -> throw new IllegalArgumentException("unknown loss " + loss);
                }
            }
        }
        return result;
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
