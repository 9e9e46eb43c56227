package dev.hesstrain.model;

import ai.djl.ndarray.NDArray;
import ai.djl.ndarray.types.Shape;
import java.util.ArrayList;
import java.util.List;
import java.util.function.UnaryOperator;

/**
 * The closed-form curvature pass of a sequential network of affine layers and elementwise
 * activations, which writes the input Hessian as a sum of Jacobian sandwiches: for every output o
 * at every sample,
 *
 * <pre>
 *     H_o = Σ_l J_lᵀ diag(σ_l''(z_l) ⊙ c_{l,o}) J_l
 * </pre>
 *
 * with z_l the pre-activation of activation layer l, J_l = ∂z_l/∂x its Jacobian (carried forward
 * along the input directions, like the first derivatives of the Taylor pass) and c_{l,o} =
 * ∂f_o/∂a_l the adjoint of that layer's output (carried backward from the outputs: c ← (c ⊙ σ')W
 * through a dense layer, the transposed convolution through conv2d). log_softmax adds one dense
 * term on its input u, s_o J_uᵀ(p pᵀ − diag p)J_u with p = softmax(u) and s_o = Σ_m c_{o,m}.
 *
 * <p>The result is a list of {@link Term}s, each a set of rows R [K, N or 1, r] (r rows of the
 * Jacobian along the K directions) and weights w [O, N or 1, r], with H_o = Σ_t R_tᵀ diag(w_{t,o})
 * R_t; every norm of H follows from them by batched products (see hessian/ClosedForm). All of it
 * is ordinary tensor ops, differentiable in the parameters by one plain backward pass.
 *
 * <p>On a replica axis (R networks of the same structure, each with its own parameters; see
 * {@link Network#curvature(NDArray, NDArray, NDArray, List)}) every array gains an axis R (or 1
 * where all replicas share it) just before the sample axis: values [R, N, ...], Jacobians [K, R or
 * 1, N or 1, ...], adjoints [O, R or 1, N or 1, ...], rows [K, R or 1, N or 1, r] and weights [O,
 * R, N, r]. Elementwise steps and those acting on the last axis then broadcast as they are; {@link
 * #ofReplicas} turns the result into the pass of R·N samples that {@code hessian/ClosedForm} reads.
 *
 * @param value the model output [N, O]
 * @param terms the curvature terms, from the output down
 */
public record Sandwich(NDArray value, List<Term> terms) {

    /**
     * One curvature term: H_o gains Σ_a w[o, n, a] R[:, n, a] R[:, n, a]ᵀ.
     *
     * @param rows [K, N or 1, r] Jacobian rows along the K input directions; [r, K, N or 1] when
     *     {@code featureMajor}
     * @param weights [O, N or 1, r]; [r, O, N or 1] when {@code featureMajor}, or [r, N or 1] for a
     *     pass of one output combination (O = 1)
     * @param featureMajor whether the arrays have the rows first, as a feature-major pass makes
     *     them (see {@link Columns.Layer#curvatureColumns}): hessian/ClosedForm then reduces over
     *     the rows on that layout, without permuting them
     */
    public record Term(NDArray rows, NDArray weights, boolean featureMajor) {
        public Term(NDArray rows, NDArray weights) {
            this(rows, weights, false);
        }

        /** The rows as [K, N or 1, r] (a view of feature-major rows). */
        public NDArray rowsByDirection() {
            return featureMajor ? rows.transpose(1, 2, 0) : rows;
        }

        /** The weights as [O, N or 1, r] (a view of feature-major weights). */
        public NDArray weightsByOutput() {
            return !featureMajor ? weights : weights.getShape().dimension() == 2 ? weights.transpose().expandDims(0)
                    : weights.transpose(1, 2, 0);
        }
    }

    /** A layer that takes part in the pass: its value and Jacobian forward, its adjoint backward. */
    public interface Layer {
        /**
         * The layer applied to {@code value} [N, ...] and to its Jacobian {@code jac} [K, N or 1,
         * ...] along K input directions; a null {@code jac} (not needed above the highest term)
         * gives a null Jacobian.
         */
        Step curvature(NDArray value, NDArray jac);

        /**
         * The same step on a replica axis (layout above): {@code value} [R or 1, N, ...], {@code jac}
         * [K, R or 1, N or 1, ...], with this layer's parameters each [R, its shape...] in {@link
         * dev.hesstrain.model.Layer#parameters()} order.
         */
        Step curvature(NDArray value, NDArray jac, List<NDArray> params);
    }

    /** What one layer's forward step keeps for the backward sweep. */
    public interface Step {
        /** The layer's output [N, ...]. */
        NDArray value();

        /** The Jacobian of the output along the K directions, [K, N or 1, ...]. */
        NDArray jac();

        /** The adjoint of the layer's input from that of its output: [O, N or 1, ...out] to [..in]. */
        NDArray back(NDArray adjoint);

        /** The curvature term the layer adds given the adjoint of its output, or null (affine layers). */
        default Term term(NDArray adjoint) {
            return null;
        }

        /** An affine step: no term, the adjoint mapped by {@code back}. */
        static Step affine(NDArray value, NDArray jac, UnaryOperator<NDArray> back) {
            return new Step() {
                @Override
                public NDArray value() {
                    return value;
                }

                @Override
                public NDArray jac() {
                    return jac;
                }

                @Override
                public NDArray back(NDArray adjoint) {
                    return back.apply(adjoint);
                }
            };
        }
    }

    /**
     * [K, N or 1, ...] to [K, N or 1, features] ({@code lead} 2), or [K, R or 1, N or 1, ...] to [K,
     * R or 1, N or 1, features] ({@code lead} 3): the flat rows of a term.
     */
    static NDArray flat(NDArray a, int lead) {
        Shape s = a.getShape();
        return s.dimension() == lead + 1 ? a : a.reshape(s.slice(0, lead).add(-1));
    }

    /**
     * A pass on a replica axis (value [R, N, O], rows [K, R or 1, N or 1, r], weights [O, R or 1, N
     * or 1, r]) as the pass of R·N samples, replica-major (sample r·N + n is replica r's sample n):
     * value [R·N, O], rows [K, R·N, r] (kept [K, 1, r] when every replica and sample shares them),
     * weights [O, R·N, r].
     */
    public static Sandwich ofReplicas(Sandwich replicated) {
        Shape v = replicated.value().getShape();
        long r = v.get(0);
        long n = v.get(1);
        List<Term> terms = new ArrayList<>(replicated.terms().size());
        for (Term t : replicated.terms()) {
            terms.add(new Term(samples(t.rows(), r, n), samples(t.weights(), r, n)));
        }
        return new Sandwich(replicated.value().reshape(r * n, v.get(2)), terms);
    }

    /** [A, R or 1, N or 1, w] to [A, R·N, w], or to [A, 1, w] when both axes are 1. */
    private static NDArray samples(NDArray a, long r, long n) {
        Shape s = a.getShape();
        if (s.get(1) == 1 && s.get(2) == 1) {
            return a.reshape(s.get(0), 1, s.get(3));
        }
        NDArray full = s.get(1) == r && s.get(2) == n ? a : a.broadcast(new Shape(s.get(0), r, n, s.get(3)));
        return full.reshape(s.get(0), r * n, s.get(3));
    }
}
