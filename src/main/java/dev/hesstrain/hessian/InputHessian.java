package dev.hesstrain.hessian;

import ai.djl.ndarray.NDArray;
import ai.djl.ndarray.NDManager;
import ai.djl.ndarray.types.Shape;
import dev.hesstrain.model.Network;
import dev.hesstrain.model.Ops;
import dev.hesstrain.model.Pairs;
import dev.hesstrain.model.Scopes;
import dev.hesstrain.model.Taylor;
import dev.hesstrain.spec.Norm;

/**
 * Exact Hessians of the model output with respect to its input, by forward (Taylor-mode)
 * propagation of first and second derivatives: one pass, no graph of gradients, and so no
 * reference cycle when it is differentiated once more for training.
 */
public final class InputHessian implements AutoCloseable {
    private final Network network;
    private final int d;
    private final Pairs pairs;
    private final NDArray eye;
    private final NDArray weights;
    private final NDArray diagonalMask;
    private final boolean unitWeights;

    public InputHessian(Network network) {
        this.network = network;
        this.d = network.inputs();
        NDManager m = network.manager();
        this.pairs = Pairs.forHessian(m, d);
        this.eye = m.eye(d).toType(network.dtype(), false).expandDims(1);
        int p = pairs.size();
        float[] w = new float[p];
        float[] diag = new float[p];
        for (int i = 0; i < p; i++) {
            w[i] = pairs.multiplicity(i);
            diag[i] = pairs.a(i) == pairs.b(i) ? 1f : 0f;
        }
        this.weights = m.create(w, new Shape(p, 1, 1)).toType(network.dtype(), false);
        boolean unit = true;
        for (float v : w) {
            unit &= v == 1f;
        }
        this.unitWeights = unit;
        this.diagonalMask = m.create(diag, new Shape(p, 1, 1)).toType(network.dtype(), false);
    }

    public Pairs pairs() {
        return pairs;
    }

    /** Taylor pass with the unit directions: the value, the Jacobian and the Hessian (see {@link Pairs#forHessian}). */
    public Taylor taylor(NDArray x) {
        NDManager step = x.getManager();
        attach(step);
        return network.taylor(x, eye, pairs);
    }

    /** Temporarily attaches this object's and the network's persistent arrays to {@code step}. */
    public void attach(NDManager step) {
        network.attach(step);
        Scopes.tempAttach(step, eye, weights, diagonalMask);
        pairs.attach(step);
    }

    /**
     * How many samples one exact pass should take so that its largest second-derivative array,
     * pairs × samples × widest layer, holds about {@code elements} numbers (at least 1, at most
     * {@code max}): with d inputs the pass carries O(d²) pairs per sample, and arrays far beyond
     * the caches cost more per sample (page faults, memory traffic) than more, smaller passes.
     */
    public int rowsPerPass(long elements, int max) {
        long rows = elements / ((long) pairs.size() * network.widestOutput());
        return (int) Math.max(1, Math.min(max, rows));
    }

    /** The per-sample norm summed over outputs, [N], from a Taylor pass (zero where the Hessian is). */
    public NDArray norm(Taylor t, Norm norm) {
        NDArray h = t.hess();
        long n = t.value().getShape().get(0);
        if (h == null) {
            return t.value().getManager().zeros(new Shape(n), t.value().getDataType());
        }
        // reductions over the leading (pair) axis first: they run along contiguous memory
        NDArray perSample = switch (norm) {
            case FROBENIUS -> (unitWeights ? Ops.square(h) : Ops.square(h).mul(weights)).sum(new int[] {0}).sum(new int[] {1});
            case DIAGONAL -> Ops.square(h).mul(diagonalMask).sum(new int[] {0}).sum(new int[] {1});
            case OFFDIAGONAL -> Ops.square(h).mul(weights.sub(diagonalMask)).sum(new int[] {0}).sum(new int[] {1});
            case TRACE -> Ops.square(h.mul(diagonalMask).sum(new int[] {0})).sum(new int[] {1});
        };
        if (perSample.getShape().get(0) != n) {
            perSample = perSample.broadcast(new Shape(n));
        }
        return perSample;
    }

    /**
     * The full Hessians [N, outputs, d, d] at the points x [N, d], from the Taylor pass (symmetric by
     * construction).
     */
    public NDArray full(NDArray x) {
        Taylor t = taylor(x);
        long n = x.getShape().get(0);
        int o = network.outputs();
        double[] out = new double[Math.toIntExact(n * o * d * d)];
        if (t.hess() != null) {
            NDArray h = t.hess().broadcast(new Shape(pairs.size(), n, o));
            double[] v = h.toType(ai.djl.ndarray.types.DataType.FLOAT64, false).toDoubleArray();
            for (int s = 0; s < n; s++) {
                for (int p = 0; p < pairs.size(); p++) {
                    int j = pairs.a(p);
                    int k = pairs.b(p);
                    for (int q = 0; q < o; q++) {
                        double val = v[(p * (int) n + s) * o + q];
                        out[((s * o + q) * d + j) * d + k] = val;
                        out[((s * o + q) * d + k) * d + j] = val;
                    }
                }
            }
        }
        return x.getManager().create(out, new Shape(n, o, d, d));
    }

    @Override
    public void close() {
        pairs.close();
        eye.close();
        weights.close();
        diagonalMask.close();
    }
}
