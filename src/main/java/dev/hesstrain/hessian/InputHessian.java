package dev.hesstrain.hessian;

import ai.djl.ndarray.NDArray;
import ai.djl.ndarray.NDManager;
import ai.djl.ndarray.types.Shape;
import ai.djl.ndarray.types.DataType;
import dev.hesstrain.model.Network;
import dev.hesstrain.model.Ops;
import dev.hesstrain.model.Pairs;
import dev.hesstrain.model.Sandwich;
import dev.hesstrain.model.Scopes;
import dev.hesstrain.model.Taylor;
import dev.hesstrain.spec.Norm;
import org.apache.logging.log4j.LogManager;
import org.apache.logging.log4j.Logger;

/**
 * Exact Hessians of the model output with respect to its input, and their norms, by one forward
 * pass of ordinary tensor ops: no graph of gradients, and so no reference cycle when it is
 * differentiated once more for training. Two independent passes:
 * <ul>
 *   <li>{@link Method#CLOSED_FORM} (the default where every layer supports it): the Jacobians of
 *       the pre-activations forward, the adjoints of the activations backward, H_o = Σ_l J_lᵀ
 *       diag(σ_l'' ⊙ c_{l,o}) J_l (see {@link dev.hesstrain.model.Sandwich}, {@link ClosedForm}): trace and diagonal
 *       in O(n·d) per sample, the Frobenius norm in O(n²·d) or O(n·d²);
 *   <li>{@link Method#TAYLOR}: forward Taylor mode with all d² or d(d+1)/2 pairs of second
 *       derivatives (see {@link Pairs#forHessian}); the fallback for layers without the structure.
 * </ul>
 */
public final class InputHessian implements AutoCloseable {
    private static final Logger LOG = LogManager.getLogger(InputHessian.class);

    /** The pass that computes the exact Hessians. */
    public enum Method { CLOSED_FORM, TAYLOR }

    private final Network network;
    private final int d;
    private final Method method;
    private final ClosedForm.Frobenius frobenius;
    private final Pairs pairs;
    private final NDArray eye;
    private final NDArray outputEye;
    private final NDArray weights;
    private final NDArray diagonalMask;
    private final boolean unitWeights;
    /**
     * Whether the closed form runs feature-major ({@link Network#curvature(NDArray, NDArray, NDArray,
     * boolean)}): for flat networks with up to {@link ClosedForm#ELEMENTWISE_MAX_DIRECTIONS} inputs,
     * whose Hessians and diagonals are then formed elementwise. With more inputs the row-major
     * pass is faster (its Gram and diagonal products are batched matrix products on that layout).
     * Measured on training steps (ms, 3 alternating runs, sin2pi's 10-11-12 tanh layers with d
     * inputs, 500 samples): d = 6 frobenius 2.36-3.63 against 2.86-3.08 row-major, trace 1.68-2.17
     * against 1.90-2.52; d = 8 frobenius 3.63-3.93 against 3.04-5.58; diabetes (d = 10) diagonal
     * 0.79-0.82 against 0.71-0.76; digits (d = 64) frobenius 14-16 against 6.7-6.9.
     */
    private final boolean featureMajor;

    /**
     * The closed form where every layer supports it, else the Taylor pass (with one log line where
     * a layer refuses the closed form). The system property
     * {@code hesstrain.exact} ({@code taylor} or {@code closed_form}) overrides the
     * default, for benchmarks that compare the two passes on the real command.
     */
    public InputHessian(Network network) {
        this(network, defaultMethod());
    }

    private static Method defaultMethod() {
        String p = System.getProperty("hesstrain.exact");
        return p == null || p.isBlank() ? null : Method.valueOf(p.trim().toUpperCase(java.util.Locale.ROOT));
    }

    /** With the given method, or null for the default; the closed form falls back as above. */
    public InputHessian(Network network, Method requested) {
        this.network = network;
        this.d = network.inputs();
        int refused = network.firstWithoutCurvature();
        if (refused >= 0 && requested != Method.TAYLOR) {
            LOG.info("layer {} ({}) has no closed-form curvature: exact input Hessians use the Taylor pairs pass",
                    refused, network.layers().get(refused).getClass().getSimpleName());
        }
        this.method = refused >= 0 ? Method.TAYLOR : requested != null ? requested : Method.CLOSED_FORM;
        long rows = network.curvatureWidths().stream().mapToLong(Long::longValue).sum();
        this.frobenius = ClosedForm.choose(sharedRows(network), rows, d, network.outputs());
        this.featureMajor = network.featureMajor() && d <= ClosedForm.ELEMENTWISE_MAX_DIRECTIONS;
        NDManager m = network.manager();
        this.pairs = Pairs.forHessian(m, d);
        this.eye = m.eye(d).toType(network.dtype(), false).expandDims(1);
        this.outputEye = m.eye(network.outputs()).toType(network.dtype(), false).expandDims(1);
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

    /**
     * The rows of the closed form's first curvature term when they are the same for every sample:
     * below the first curved activation the network is affine, so the Jacobian of its
     * pre-activation along the unit directions is a constant (W₁ for a dense first layer); 0 when
     * the first curved layer is log_softmax (its rows depend on p).
     */
    static long sharedRows(Network network) {
        for (dev.hesstrain.model.Layer l : network.layers()) {
            if (l instanceof dev.hesstrain.model.LogSoftmax) {
                return 0;
            }
            if (l instanceof dev.hesstrain.model.Activation a && a.curved()) {
                return network.curvatureWidths().get(0);
            }
        }
        return 0;
    }

    public Pairs pairs() {
        return pairs;
    }

    public Method method() {
        return method;
    }

    /** How the closed form computes Frobenius norms for this network (Gram or formed H). */
    public ClosedForm.Frobenius frobeniusWay() {
        return frobenius;
    }

    /**
     * An exact pass at x [N, d]: the model output [N, O], the per-sample {@code norm} [N] summed
     * over outputs and, with {@code withFrobenius}, the per-sample squared Frobenius norm [N]
     * (else null).
     */
    public record Exact(NDArray value, NDArray norm, NDArray frobenius) {}

    /**
     * Whether the Frobenius norm costs little beside the penalty of {@code norm}: it is the penalty
     * (frobenius, offdiagonal), or the Taylor pass has the pairs anyway. The closed form's trace and
     * diagonal need no Gram matrix or formed H, which the Frobenius norm does (on digits the Gram
     * matrices [128, 64, 64] cost more than the trace step's own forward pass).
     */
    public boolean frobeniusIsCheap(Norm norm) {
        return method == Method.TAYLOR || norm == Norm.FROBENIUS || norm == Norm.OFFDIAGONAL;
    }

    /** {@link Exact} by this object's method. */
    public Exact exact(NDArray x, Norm norm, boolean withFrobenius) {
        if (method == Method.TAYLOR) {
            Taylor t = taylor(x);
            NDArray n = norm(t, norm);
            return new Exact(t.value(), n, withFrobenius ? (norm == Norm.FROBENIUS ? n : norm(t, Norm.FROBENIUS)) : null);
        }
        ClosedForm.Norms norms = closedForm(x);
        return new Exact(norms.value(), norms.get(norm), withFrobenius ? norms.get(Norm.FROBENIUS) : null);
    }

    /** The closed-form pass at x [N, d] with the unit directions and every output. */
    public ClosedForm.Norms closedForm(NDArray x) {
        attach(x.getManager());
        return new ClosedForm.Norms(network.curvature(x, eye, outputEye, featureMajor), frobenius);
    }

    /**
     * The closed-form pass of R replicas of the network with parameters {@code params} (each [R,
     * shape...]) at x [R, N, d], as the norms of R·N samples, replica-major (see {@link
     * Network#curvature(NDArray, NDArray, NDArray, java.util.List)}).
     */
    public ClosedForm.Norms closedForm(NDArray x, java.util.List<NDArray> params) {
        return closedForm(x, eye, params);
    }

    /**
     * As {@link #closedForm(NDArray, java.util.List)} along {@code directions} [K, 1, d] shared, or
     * [R, K, N, d] of each replica and sample (Hutchinson's probes: {@link ClosedForm.Norms#directional}).
     */
    public ClosedForm.Norms closedForm(NDArray x, NDArray directions, java.util.List<NDArray> params) {
        return closedForm(x, directions, params, false);
    }

    /**
     * As {@link #closedForm(NDArray, NDArray, java.util.List)}; with {@code featureMajor} (flat
     * networks only) the replicated pass runs feature-major ({@link Network#curvature(NDArray, NDArray,
     * NDArray, java.util.List, boolean)}) and its norms are formed as those of a plain feature-major
     * pass of R·N samples.
     */
    public ClosedForm.Norms closedForm(NDArray x, NDArray directions, java.util.List<NDArray> params,
            boolean featureMajor) {
        attach(x.getManager());
        return new ClosedForm.Norms(network.curvature(x, directions, outputEye, params, featureMajor), frobenius);
    }

    /** The unit directions [d, 1, d] of the exact passes. */
    public NDArray unitDirections() {
        return eye;
    }

    /**
     * The closed-form pass at x [N, d] with the unit directions and the adjoints seeded by
     * {@code seed} [O', 1 or N, outputs]: the Hessians of the O' combinations Σ_q seed[o', n, q] f_q.
     */
    public Sandwich sandwich(NDArray x, NDArray seed) {
        attach(x.getManager());
        return network.curvature(x, eye, seed, featureMajor);
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
        Scopes.tempAttach(step, eye, outputEye, weights, diagonalMask);
        pairs.attach(step);
    }

    /**
     * How many samples one exact pass should take so that its largest second-derivative array,
     * pairs × samples × widest layer, holds about {@code elements} numbers (at least 1, at most
     * {@code max}): with d inputs the pass carries O(d²) pairs per sample, and arrays far beyond
     * the caches cost more per sample (page faults, memory traffic) than more, smaller passes.
     */
    public int rowsPerPass(long elements, int max) {
        long perSample;
        if (method == Method.TAYLOR) {
            perSample = (long) pairs.size() * network.widestOutput();
        } else {
            // the Jacobians, d × widest; the concatenated rows; the Gram matrix or the formed Hessians
            long r = network.curvatureWidths().stream().mapToLong(Long::longValue).sum();
            long o = network.outputs();
            perSample = Math.max((long) d * network.widest(), Math.max(r * d,
                    frobenius == ClosedForm.Frobenius.GRAM ? r * r : o * r * d));
        }
        long rows = elements / Math.max(1, perSample);
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
     * The full Hessians [N, outputs, d, d] in float64 at the points x [N, d], by this object's method
     * (exactly symmetric).
     */
    public NDArray full(NDArray x) {
        if (method == Method.TAYLOR) {
            return fullTaylor(x);
        }
        NDArray h = closedForm(x).full().toType(DataType.FLOAT64, false);
        long n = x.getShape().get(0);
        int o = network.outputs();
        if (h.getShape().get(2) == 0) {
            return x.getManager().zeros(new Shape(n, o, d, d), DataType.FLOAT64);
        }
        return h.add(h.transpose(0, 1, 3, 2)).mul(0.5);
    }

    /** The full Hessians [N, outputs, d, d] in float64 by the Taylor pass (symmetric by construction). */
    public NDArray fullTaylor(NDArray x) {
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
        outputEye.close();
        weights.close();
        diagonalMask.close();
    }
}
