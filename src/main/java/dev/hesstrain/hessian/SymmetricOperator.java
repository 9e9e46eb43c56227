package dev.hesstrain.hessian;

import ai.djl.ndarray.NDArray;
import ai.djl.ndarray.NDManager;

/**
 * A batch of symmetric linear operators H_b of one dimension, known only by their products (the
 * shape of curvlinops' {@code LinearOperator._matmat} and PyHessian's {@code hessian_vector_product}):
 * every curvature quantity (diagonal, row sums, products, trace, eigenvalues, density) is written
 * once against this type in {@link Curvature}, {@link Hutchinson}, {@link Lanczos} and
 * {@link SpectralDensity}, whatever is differentiated.
 *
 * <p>Blocks are float64 engine arrays [batch, dim, k]: k vectors for each of the batch's matrices,
 * as columns. The parameter Hessian of a loss is a batch of one ({@link ParamHessianOperator});
 * the input Hessians of a chunk of points are a batch of one matrix per point and output
 * ({@link DenseOperator}).
 */
public interface SymmetricOperator {
    /** The number of matrices multiplied together. */
    int batch();

    /** The dimension of each matrix. */
    int dim();

    /** How many vectors per matrix one multiply handles best (the replicas of one backward pass). */
    int blockSize();

    /** Where callers create their blocks (a per-quantity sub-manager of it, closed after use). */
    NDManager manager();

    /**
     * H·V for a block V [batch, dim, k] in float64: [batch, dim, k] in float64, attached to V's
     * manager, on its device.
     */
    NDArray multiply(NDArray block);

    /** Vector products so far: a block of k vectors counts k (per matrix of the batch). */
    long products();
}
