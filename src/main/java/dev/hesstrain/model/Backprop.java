package dev.hesstrain.model;

import ai.djl.ndarray.NDArray;
import java.util.List;

/**
 * A layer's part in the parameter-curvature pass ({@code hessian/ParamCurvature}, after BackPACK's
 * {@code core/derivatives/}): the transposed Jacobians and second derivatives of the layer, with
 * which the Hessian of a sample's loss w.r.t. the layer's output, H_z, is backpropagated to its
 * input, and the diagonal of the loss Hessian (or GGN) w.r.t. the layer's parameters follows from
 * H_z without forming any parameter block.
 *
 * <p>H_z is carried per sample, either as signed columns, H_z[n] = Σ_c s[c, n] L[c, n] L[c, n]ᵀ
 * with columns L [c, N, out...] (the layout of {@link Sandwich}'s adjoints) and signs s [c, N]
 * (null: all +1), or densely as [N, out, out] for flat layers.
 */
public final class Backprop {
    private Backprop() {}

    /** A layer that takes part in the pass. */
    public interface Layer {
        /** The layer's forward step on x [N, in...], keeping what its backward maps need. */
        Step backprop(NDArray x);

        /** Whether {@link Step#backDense} works (flat input and output). */
        default boolean flat() {
            return false;
        }
    }

    /** What one layer's forward step keeps for the backward sweep. */
    public interface Step {
        /** The layer's output [N, out...]. */
        NDArray value();

        /**
         * Makes now what the step would otherwise make on its first use (the unfolded input of a
         * convolution), so that it lives as long as the step's own arrays: for a step kept over
         * several passes, each in a manager of its own.
         */
        default void keep() {}

        /** Jᵀ applied to columns: [c, N, out...] to [c, N, in...] (J = ∂out/∂in per sample). */
        NDArray back(NDArray columns);

        /** Jᵀ H J per sample for dense H [N, out, out]: [N, in, in]. Flat layers only. */
        default NDArray backDense(NDArray h) {
            throw new UnsupportedOperationException(getClass().getSimpleName() + " has no dense backward map");
        }

        /**
         * Only the per-sample diagonal of Jᵀ H J for dense H [N, out, out]: [N, in]. Where nothing
         * below needs more (elementwise layers down to a dense layer's parameter diagonal), this
         * spares the second product of Wᵀ H W. Flat layers only.
         */
        default NDArray backDenseDiagonal(NDArray h) {
            long m = h.getShape().get(1);
            // an elementwise layer: the diagonal, a strided view of the flat matrices, then its own map
            return backDiagonal(h.reshape(h.getShape().get(0), m * m).get(":, ::" + (m + 1)));
        }

        /**
         * diag(Jᵀ D J) per sample for a diagonal D given as [N, out...], for a layer whose Jacobian
         * is diagonal (elementwise): [N, in...].
         */
        default NDArray backDiagonal(NDArray d) {
            throw new UnsupportedOperationException(getClass().getSimpleName() + " is not elementwise");
        }

        /**
         * The parameter diagonal ({@link #diagonalDense}) from only the per-sample diagonal of H_z,
         * [N, out], for a layer whose parameter diagonal reads nothing else; null otherwise.
         */
        default List<NDArray> diagonalFromDiagonal(NDArray d) {
            return null;
        }

        /**
         * The residual term this layer adds to the Hessian of its input, diag(σ''(z) ⊙ g) for the
         * gradient g [N, out...] of the loss w.r.t. its output, as its diagonal [N, in...]; null for
         * a layer whose second derivative vanishes (affine layers, relu, identity).
         */
        default NDArray residual(NDArray gradient) {
            return null;
        }

        /**
         * Per parameter (in {@link dev.hesstrain.model.Layer#parameters()} order, each in its
         * shape): Σ_n Σ_c s[c, n] ((∂z_n/∂θ)ᵀ L[c, n])², the diagonal of Σ_n J_θᵀ H_z[n] J_θ for
         * H_z given by columns L [c, N, out...] and signs s [c, N] (null: all +1).
         */
        default List<NDArray> diagonal(NDArray columns, NDArray signs) {
            return List.of();
        }

        /** The same for a dense H_z [N, out, out]. Flat layers only. */
        default List<NDArray> diagonalDense(NDArray h) {
            throw new UnsupportedOperationException(getClass().getSimpleName() + " has no dense parameter diagonal");
        }

        /**
         * Per parameter: Σ_n (∂z_n/∂θ)ᵀ u[c, n] for columns u [c, N, out...]: [c, its shape...]
         * (the vector-Jacobian product; with one column, the gradient).
         */
        default List<NDArray> vjp(NDArray columns) {
            return List.of();
        }

        /**
         * The forward-mode tangent of the output, [K, N, out...], from the input's tangent [K, N,
         * in...] (null: zero) and the parameters' tangents, each [K, its shape...] (empty for a
         * layer without parameters).
         */
        NDArray tangent(NDArray input, List<NDArray> params);

        /**
         * The change of the input's gradient Jᵀg with the parameters along their tangents, [K, N,
         * in...], for the output's gradient g [N, out...]; null for a layer without parameters. With
         * {@link #vjpTangent} it makes the exact Hessian-vector product by forward-over-reverse
         * (Pearlmutter's R-operator) without any autograd graph.
         */
        default NDArray backTangent(NDArray gradient, List<NDArray> params) {
            return null;
        }

        /**
         * The change of each parameter's gradient Σ_n (∂z_n/∂θ)ᵀ g_n with the input along its tangent
         * [K, N, in...], each [K, its shape...], for the leading parameters it reaches (a bias's
         * gradient does not change with the input: the list stops before it); empty for a layer
         * without parameters.
         */
        default List<NDArray> vjpTangent(NDArray gradient, NDArray input) {
            return List.of();
        }
    }

    /** Σ over the sample and column axes (0, 1) of s ⊙ a² for a [c, N, ...] and signs [c, N] or null. */
    static NDArray signedSquares(NDArray a, NDArray signs) {
        NDArray sq = Ops.square(a);
        if (signs != null) {
            ai.djl.ndarray.types.Shape s = signs.getShape();
            long[] shape = new long[a.getShape().dimension()];
            java.util.Arrays.fill(shape, 1);
            shape[0] = s.get(0);
            shape[1] = s.get(1);
            sq = sq.mul(signs.reshape(shape));
        }
        return sq.sum(new int[] {0, 1});
    }
}
