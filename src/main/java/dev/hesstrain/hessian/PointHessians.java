package dev.hesstrain.hessian;

import ai.djl.engine.Engine;
import ai.djl.ndarray.NDArray;
import ai.djl.ndarray.NDManager;
import ai.djl.ndarray.types.DataType;
import ai.djl.ndarray.types.Shape;
import ai.djl.training.GradientCollector;
import dev.hesstrain.model.Loss;
import dev.hesstrain.model.Network;
import dev.hesstrain.model.Sandwich;
import dev.hesstrain.model.Torch;
import dev.hesstrain.spec.LossKind;
import java.util.ArrayList;
import java.util.List;

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

    /**
     * The Hessians of one chunk of points from one exact pass: their diagonals, traces and squared
     * Frobenius norms, an operator for products with them, and (only when asked) the matrices
     * themselves. With the closed form ({@link InputHessian.Method#CLOSED_FORM}) nothing but
     * {@link #full} forms a d × d matrix: the diagonals and traces are {@link ClosedForm.Norms}'s,
     * the products {@link SandwichOperator}'s; with the Taylor pass everything comes from the formed
     * matrices. Arrays are row-major, matrix s·m + q for point s and matrix q (of m, see
     * {@link #matrices}).
     */
    public final class Points implements AutoCloseable {
        private final NDManager step;
        private final int n;
        private final int m;
        private final ClosedForm.Norms norms;
        private double[] full;
        private double[] diagonals;
        private double[] traces;
        private double[] frobenius;
        private SymmetricOperator operator;

        private Points(double[] x, int n, double[] y, LossKind loss) {
            this.step = network.manager().newSubManager();
            this.n = n;
            this.m = matrices(loss);
            try {
                if (hessian.method() == InputHessian.Method.TAYLOR) {
                    this.norms = null;
                    this.full = compute(x, n, y, loss);
                } else {
                    NDArray xs = step.create(x, new Shape(n, d)).toType(network.dtype(), false);
                    this.norms = loss == null ? hessian.closedForm(xs) : lossNorms(xs, y, loss);
                }
            } catch (RuntimeException e) {
                step.close();
                throw e;
            }
        }

        /** Whether the matrices come from the closed form (formed only by {@link #full}). */
        public boolean closedForm() {
            return norms != null;
        }

        /** The Hessians [n, m, d, d] in float64, formed (by batched products for the closed form). */
        public double[] full() {
            if (full == null) {
                if (norms.flat()) {
                    full = new double[n * m * d * d];
                } else {
                    NDArray h = norms.full().toType(DataType.FLOAT64, false);
                    full = h.add(h.transpose(0, 1, 3, 2)).mul(0.5).toDoubleArray();
                }
            }
            return full;
        }

        /** The diagonals [n, m, d]: Σ_a w_a R[a, j]² in closed form, without forming H. */
        public double[] diagonals() {
            if (diagonals == null) {
                if (norms == null) {
                    diagonals = new double[n * m * d];
                    for (int c = 0; c < n * m; c++) {
                        for (int j = 0; j < d; j++) {
                            diagonals[c * d + j] = full[(c * d + j) * d + j];
                        }
                    }
                } else {
                    diagonals = norms.flat() ? new double[n * m * d]
                            : norms.diagonals().toType(DataType.FLOAT64, false).broadcast(new Shape(n, m, d)).toDoubleArray();
                }
            }
            return diagonals;
        }

        /** The traces [n, m]: Σ_a w_a ‖R[a, :]‖² in closed form, without forming H. */
        public double[] traces() {
            if (traces == null) {
                if (norms == null) {
                    double[] dg = diagonals();
                    traces = new double[n * m];
                    for (int c = 0; c < n * m; c++) {
                        for (int j = 0; j < d; j++) {
                            traces[c] += dg[c * d + j];
                        }
                    }
                } else {
                    traces = norms.flat() ? new double[n * m]
                            : norms.traces().transpose(1, 0).toType(DataType.FLOAT64, false).broadcast(new Shape(n, m))
                                    .toDoubleArray();
                }
            }
            return traces;
        }

        /** The squared Frobenius norms [n, m] (in closed form by the Gram matrices or formed H, as cheaper). */
        public double[] frobenius() {
            if (frobenius == null) {
                if (norms == null) {
                    frobenius = new double[n * m];
                    for (int c = 0; c < n * m; c++) {
                        for (int i = 0; i < d * d; i++) {
                            double v = full[c * d * d + i];
                            frobenius[c] += v * v;
                        }
                    }
                } else {
                    frobenius = norms.flat() ? new double[n * m]
                            : norms.frobeniusPerOutput().toType(DataType.FLOAT64, false).toDoubleArray();
                }
            }
            return frobenius;
        }

        /**
         * Products with the n·m matrices: {@link SandwichOperator} for the closed form (exact,
         * without forming H), else a {@link DenseOperator} on the formed matrices.
         */
        public SymmetricOperator operator() {
            if (operator == null) {
                operator = norms != null && !norms.flat() ? new SandwichOperator(norms, step)
                        : new DenseOperator(norms == null ? full : full(), n * m, d, step);
            }
            return operator;
        }

        @Override
        public void close() {
            step.close();
        }

        /**
         * The loss Hessians as one closed-form pass: ∇²ℓ = Σ_q g_q ∇²f_q + Jᵀ A J, the first sum by
         * seeding the adjoints with g, the second as one more term, rows v_iᵀJ with weights λ_i for
         * the eigenpairs (λ_i, v_i) of the loss's A = ∂²ℓ/∂f² at each point.
         */
        private ClosedForm.Norms lossNorms(NDArray xs, double[] y, LossKind loss) {
            int o = network.outputs();
            double[] value = new double[n * o];
            double[] jac = new double[n * o * d];
            jacobian(step, xs, value, jac);
            Loss l = Loss.of(loss);
            double[] gs = new double[n * o];
            double[] rows = new double[d * n * o]; // [d, n, o]
            double[] lambdas = new double[n * o];
            double[] g = new double[o];
            double[] a = new double[o * o];
            boolean curved = false;
            for (int s = 0; s < n; s++) {
                l.outputDerivatives(value, s * o, o, y, s, g, a);
                System.arraycopy(g, 0, gs, s * o, o);
                SymmetricEigen.Result e = SymmetricEigen.of(a, 0, o);
                for (int i = 0; i < o; i++) {
                    lambdas[s * o + i] = e.values()[i];
                    curved |= e.values()[i] != 0;
                    for (int j = 0; j < d; j++) {
                        double v = 0;
                        for (int q = 0; q < o; q++) {
                            v += e.vectors()[q][i] * jac[(s * o + q) * d + j];
                        }
                        rows[(j * n + s) * o + i] = v;
                    }
                }
            }
            NDArray seed = step.create(gs, new Shape(1, n, o)).toType(network.dtype(), false);
            Sandwich pass = hessian.sandwich(xs, seed);
            List<Sandwich.Term> terms = new ArrayList<>(pass.terms());
            long r = network.curvatureWidths().stream().mapToLong(Long::longValue).sum();
            if (curved) {
                terms.add(new Sandwich.Term(step.create(rows, new Shape(d, n, o)).toType(network.dtype(), false),
                        step.create(lambdas, new Shape(1, n, o)).toType(network.dtype(), false)));
                r += o;
            }
            return new ClosedForm.Norms(new Sandwich(pass.value(), terms), ClosedForm.choose(InputHessian.sharedRows(network), r, d, 1));
        }
    }

    /** One exact pass over the points x (row-major [n, d]); see {@link Points}. */
    public Points at(double[] x, int n, double[] y, LossKind loss) {
        return new Points(x, n, y, loss);
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
