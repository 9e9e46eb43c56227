package dev.hesstrain.model;

import ai.djl.ndarray.NDArray;
import ai.djl.ndarray.types.Shape;

/**
 * log_softmax over the features of each sample. Its Taylor pass: with s = softmax(z),
 * ∂y = ∂z − sᵀ∂z and ∂²y = ∂²z − sᵀ∂²z − (sᵀ(∂z_a ∂z_b) − (sᵀ∂z_a)(sᵀ∂z_b)).
 */
public final class LogSoftmax implements Layer {
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

    @Override
    public Shape outputShape(Shape in) {
        if (in.dimension() != 1) {
            throw new IllegalArgumentException("log_softmax expects flat inputs, found " + in + "; add a flatten layer");
        }
        return in;
    }
}
