package dev.hesstrain.model;

import ai.djl.ndarray.NDArray;
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
 * @param value the model output [N, O]
 * @param terms the curvature terms, from the output down
 */
public record Sandwich(NDArray value, List<Term> terms) {

    /**
     * One curvature term: H_o gains Σ_a w[o, n, a] R[:, n, a] R[:, n, a]ᵀ.
     *
     * @param rows [K, N or 1, r] Jacobian rows along the K input directions
     * @param weights [O, N or 1, r]
     */
    public record Term(NDArray rows, NDArray weights) {}

    /** A layer that takes part in the pass: its value and Jacobian forward, its adjoint backward. */
    public interface Layer {
        /**
         * The layer applied to {@code value} [N, ...] and to its Jacobian {@code jac} [K, N or 1,
         * ...] along K input directions; a null {@code jac} (not needed above the highest term)
         * gives a null Jacobian.
         */
        Step curvature(NDArray value, NDArray jac);
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

    /** [K, N or 1, ...] to [K, N or 1, features]: the flat rows of a term. */
    static NDArray flat(NDArray a) {
        return a.getShape().dimension() == 3 ? a : a.reshape(a.getShape().get(0), a.getShape().get(1), -1);
    }
}
