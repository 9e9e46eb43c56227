package dev.hesstrain.hessian;

import ai.djl.ndarray.NDArray;
import ai.djl.ndarray.NDArrays;
import ai.djl.ndarray.NDList;
import ai.djl.ndarray.NDManager;
import ai.djl.ndarray.index.NDIndex;

/**
 * The generalised Gauss-Newton matrix of a loss w.r.t. all parameters, G = Σ_n J_nᵀ H_f,n J_n, or
 * its Monte Carlo Fisher (the loss Hessian H_f replaced by sampled gradients), as an operator: a
 * batch of one matrix of dimension P whose products are {@link ParamCurvature#multiply}: the
 * layers' forward-mode tangents J V, the loss factor, and one vector-Jacobian product back, for
 * up to {@link #blockSize()} vectors at once (no graph of the gradient, unlike a Hessian-vector
 * product). Every quantity of {@link Curvature}, {@link Hutchinson}, {@link Lanczos} and
 * {@link SpectralDensity} takes it as it takes the Hessian.
 */
public final class GaussNewtonOperator implements SymmetricOperator {
    private final ParamCurvature pass;
    private final NDManager manager;
    private final int block;

    /**
     * @param block vectors per product pass (their tangents are block × points × the widest layer)
     */
    public GaussNewtonOperator(ParamCurvature pass, NDManager manager, int block) {
        this.pass = pass;
        this.manager = manager;
        this.block = Math.max(1, block);
    }

    @Override
    public int batch() {
        return 1;
    }

    @Override
    public int dim() {
        return pass.dim();
    }

    @Override
    public int blockSize() {
        return block;
    }

    @Override
    public NDManager manager() {
        return manager;
    }

    @Override
    public NDArray multiply(NDArray v) {
        Curvature.checkBlock(this, v);
        int p = dim();
        int k = (int) v.getShape().get(2);
        NDArray flat = v.reshape(p, k);
        if (k <= block) {
            return pass.multiply(flat).reshape(1, p, k);
        }
        NDList parts = new NDList();
        for (int start = 0; start < k; start += block) {
            int count = Math.min(block, k - start);
            parts.add(pass.multiply(flat.get(new NDIndex(":, " + start + ":" + (start + count)))));
        }
        return NDArrays.concat(parts, 1).reshape(1, p, k);
    }

    @Override
    public long products() {
        return pass.products();
    }
}
