package dev.hesstrain.model;

import ai.djl.ndarray.NDArray;

/**
 * A Taylor pass with the features leading: {@code value} [F, N], {@code jac} [F, K, N or 1],
 * {@code hess} [F, P, N or 1] (null when zero), for runs of dense layers and elementwise
 * activations. It carries the same numbers as a {@link Taylor}, in another order. On a replica
 * axis (see {@link Network#taylor(NDArray, NDArray, Pairs, java.util.List)}) each array has one
 * more leading axis, R (or 1 for derivatives shared by all replicas): value [R, F, N], jac
 * [R or 1, F, K, N or 1], hess [R or 1, F, P, N or 1]; the directions sit on the axis before the
 * last in either case.
 *
 * <p>Why: a dense layer on this layout is one product W [out, in] × [in, rows] with thousands of
 * rows as its wide side. The same product in the row-major layout of {@link Taylor},
 * [rows, in] × [in, out], is tall and narrow, and PyTorch's CPU BLAS (MKL, on the AMD reference
 * machine) takes several times longer for it when {@code out} is small, in the forward pass and
 * again in the backward pass for the input: for 2,000 rows of 10 features, 35–49 µs against
 * 8–9 µs for 8 to 11 outputs, 1.5–2.5× as long for 12 to 15, 1.2–1.4× for 20 and 24 (one
 * thread). Elementwise ops, broadcasts over the directions and the backward reductions over them
 * run along the contiguous sample axis in either layout.
 */
record Columns(NDArray value, NDArray jac, NDArray hess) {

    /** The layout for a Taylor pass of flat features: views, no copy. */
    static Columns of(Taylor t) {
        return new Columns(t.value().transpose(), t.jac().transpose(2, 0, 1),
                t.hess() == null ? null : t.hess().transpose(2, 0, 1));
    }

    /** Back to the row-major {@link Taylor} layout: views, no copy. */
    Taylor toTaylor() {
        return new Taylor(value.transpose(), jac.transpose(1, 2, 0), hess == null ? null : hess.transpose(1, 2, 0));
    }

    /** The replicated layout for a replicated Taylor pass of flat features: value [R, N, F] etc. */
    static Columns ofReplicated(Taylor t) {
        return new Columns(t.value().transpose(0, 2, 1), t.jac().transpose(0, 3, 1, 2),
                t.hess() == null ? null : t.hess().transpose(0, 3, 1, 2));
    }

    /** Back to the replicated row-major layout: value [R, N, F], jac [R, K, N, F], hess [R, P, N, F]. */
    Taylor toReplicatedTaylor() {
        return new Taylor(value.transpose(0, 2, 1), jac.transpose(0, 2, 3, 1),
                hess == null ? null : hess.transpose(0, 2, 3, 1));
    }

    /** A layer that can run on this layout. */
    interface Layer {
        Columns forward(Columns c, Pairs pairs);

        /**
         * The same on a replica axis, with this layer's parameters each [R, shape...] (see {@link
         * dev.hesstrain.model.Layer#forward(NDArray, java.util.List)}); for a layer without
         * parameters the pass above, which works on either layout.
         */
        default Columns forward(Columns c, Pairs pairs, java.util.List<NDArray> params) {
            return forward(c, pairs);
        }

        /**
         * The closed-form curvature step ({@link Sandwich.Layer#curvature(NDArray, NDArray)}) on
         * this layout: {@code value} [F, N], {@code jac} [F, K, N or 1] (null above the highest
         * term), adjoints [F, O, N or 1], or [F, N or 1] for one output combination; its {@link
         * Sandwich.Term} is feature-major (rows [F, K, N or 1], weights [F, O, N] or [F, N]).
         */
        Sandwich.Step curvatureColumns(NDArray value, NDArray jac);

        /**
         * The same step on a replica axis, with this layer's parameters each [R, shape...]: every
         * array has a leading axis R, or 1 where all replicas share it (value [R or 1, F, N], jac
         * [R or 1, F, K, N or 1], adjoints [R or 1, F, O, N or 1] or [R or 1, F, N or 1]); {@link
         * Network#curvature(NDArray, NDArray, NDArray, java.util.List, boolean)} turns its terms into
         * those of R·N samples. For a layer without parameters the step above, which works on either
         * layout.
         */
        default Sandwich.Step curvatureColumns(NDArray value, NDArray jac, java.util.List<NDArray> params) {
            return curvatureColumns(value, jac);
        }
    }
}
