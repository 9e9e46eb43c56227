package dev.hesstrain.model;

import ai.djl.ndarray.NDArray;
import ai.djl.ndarray.types.Shape;

/**
 * log_softmax over the features of each sample. Its Taylor pass: with s = softmax(z),
 * ∂y = ∂z − sᵀ∂z and ∂²y = ∂²z − sᵀ∂²z − (sᵀ(∂z_a ∂z_b) − (sᵀ∂z_a)(sᵀ∂z_b)).
 */
public final class LogSoftmax implements Layer, Sandwich.Layer {
    @Override
    public NDArray forward(NDArray x) {
        return x.logSoftmax(-1);
    }

    @Override
    public Taylor forward(Taylor t, Pairs pairs) {
        NDArray y = forward(t.value());
        NDArray s = y.exp(); // [N, M]
        NDArray sj = t.jac().mul(s).sum(new int[] {-1}, true); // [K, N, 1]
        NDArray jac = t.jac().sub(sj);
        NDArray prod = pairs.outer(t.jac()); // [P, .., M]
        NDArray mixed = prod.mul(s).sum(new int[] {-1}, true).sub(pairs.outer(sj)); // covariance under s
        NDArray hess;
        if (t.hess() != null) {
            hess = t.hess().sub(t.hess().mul(s).sum(new int[] {-1}, true)).sub(mixed);
        } else {
            hess = mixed.neg().repeat(2, y.getShape().get(1));
        }
        return new Taylor(y, jac, hess);
    }

    /**
     * The closed-form pass on the input u [N, M]: y = u − logsumexp(u), J_y = J − (J p) 1ᵀ
     * forward; backward c ← c − s pᵀ with s = c 1 (the sum of the adjoint over the classes); and the
     * term s (J_uᵀ(p pᵀ − diag p)J_u) as M + 1 weighted rows: J_u[m] with weight −s p_m, and pᵀJ_u
     * with weight s.
     */
    @Override
    public Sandwich.Step curvature(NDArray u, NDArray jac) {
        NDArray y = forward(u);
        NDArray p = y.exp(); // [N, M]
        NDArray pj = jac.mul(p).sum(new int[] {-1}, true); // [K, N, 1]
        return new Sandwich.Step() {
            private NDArray jy;

            @Override
            public NDArray value() {
                return y;
            }

            /** J − (J p) 1ᵀ, made only when a layer above asks. */
            @Override
            public NDArray jac() {
                if (jy == null) {
                    jy = jac.sub(pj);
                }
                return jy;
            }

            @Override
            public NDArray back(NDArray c) {
                return c.sub(c.sum(new int[] {-1}, true).mul(p));
            }

            @Override
            public Sandwich.Term term(NDArray c) {
                NDArray s = c.sum(new int[] {-1}, true); // [O, N or 1, 1]
                NDArray sp = s.mul(p); // [O, N, M]
                Shape js = pj.getShape(); // [K, N, 1]
                int last = js.dimension() - 1;
                NDArray rows = jac.broadcast(js.slice(0, last).add(jac.getShape().get(last))).concat(pj, last);
                NDArray weights = sp.neg().concat(s.broadcast(sp.getShape().slice(0, last).add(1)), last);
                return new Sandwich.Term(rows, weights);
            }
        };
    }

    /**
     * On a replica axis (u [R, N, M], Jacobian [K, R or 1, N or 1, M], adjoints [O, R or 1, N or 1,
     * M]): the same ops, which act on the last axis and broadcast over the others.
     */
    @Override
    public Sandwich.Step curvature(NDArray u, NDArray jac, java.util.List<NDArray> params) {
        return curvature(u, jac);
    }

    @Override
    public Shape outputShape(Shape in) {
        if (in.dimension() != 1) {
            throw new IllegalArgumentException("log_softmax expects flat inputs, found " + in + "; add a flatten layer");
        }
        return in;
    }
}
