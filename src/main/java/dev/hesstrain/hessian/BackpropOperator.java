package dev.hesstrain.hessian;

import ai.djl.ndarray.NDArray;
import ai.djl.ndarray.NDManager;

/**
 * A parameter curvature matrix of a loss whose products come from the layers' own derivatives
 * ({@link ParamCurvature}), as an operator: a batch of one matrix of dimension P.
 *
 * <ul>
 *   <li>{@link Kind#GAUSS_NEWTON}: the generalised Gauss-Newton matrix G = Σ_n J_nᵀ H_f,n J_n, or
 *       the Monte Carlo Fisher when the pass samples labels ({@link ParamCurvature#multiply}: the
 *       layers' forward-mode tangents J V, the loss factor, one vector-Jacobian product back);</li>
 *   <li>{@link Kind#HESSIAN}: the Hessian by forward-over-reverse ({@link
 *       ParamCurvature#hessianMultiply}), without an autograd graph.</li>
 * </ul>
 *
 * Up to {@link #blockSize()} vectors go through one pass. Every quantity of {@link Curvature},
 * {@link Hutchinson}, {@link Lanczos} and {@link SpectralDensity} takes it as it takes the
 * reverse-over-reverse Hessian ({@link ParamHessianOperator}).
 */
public final class BackpropOperator implements SymmetricOperator {
    /** Which matrix the products are of. */
    public enum Kind { HESSIAN, GAUSS_NEWTON }

    private final ParamCurvature pass;
    private final Kind kind;
    private final NDManager manager;
    private final int block;

    /**
     * @param block vectors per product pass (their tangents are block × points × the widest layer)
     */
    public BackpropOperator(ParamCurvature pass, Kind kind, NDManager manager, int block) {
        this.pass = pass;
        this.kind = kind;
        this.manager = manager;
        this.block = Math.max(1, block);
    }

    private NDArray times(NDArray v) {
        return kind == Kind.HESSIAN ? pass.hessianMultiply(v) : pass.multiply(v);
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

    /** One pass for the whole block ({@link Curvature#times} hands at most {@link #blockSize()} vectors at once). */
    @Override
    public NDArray multiply(NDArray v) {
        Curvature.checkBlock(this, v);
        int p = dim();
        int k = (int) v.getShape().get(2);
        return times(v.reshape(p, k)).reshape(1, p, k);
    }

    @Override
    public long products() {
        return pass.products();
    }
}
