package dev.hesstrain.model;

import ai.djl.ndarray.NDArray;

/**
 * A Taylor pass with the features leading: {@code value} [F, N], {@code jac} [F, K, N or 1],
 * {@code hess} [F, P, N or 1] (null when zero), for runs of dense layers and elementwise
 * activations. It carries the same numbers as a {@link Taylor}, in another order.
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

    /** A layer that can run on this layout. */
    interface Layer {
        Columns forward(Columns c, Pairs pairs);
    }
}
