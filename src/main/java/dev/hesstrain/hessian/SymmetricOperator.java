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

    /**
     * How many independent copies of the operator can compute at once, each on its own thread
     * ({@link #rows} takes the lane; {@link #multiply} spreads a block over them itself): 1 unless
     * the operator says otherwise.
     */
    default int lanes() {
        return 1;
    }

    /**
     * How many rows from {@code start} one call of {@link #rows} computes best: the block size
     * unless the operator says otherwise (at most {@code blockSize() / lanes()} rows per lane).
     */
    default int rowBlock(int start) {
        return Math.max(1, blockSize() / lanes());
    }

    /**
     * Rows {@code start .. start+count-1} of every matrix, [batch, count, dim] in float64 or the
     * operator's dtype, attached to {@code into}; safe to call for different lanes from different
     * threads at once. A symmetric matrix's rows are its columns: by default the products with unit
     * vectors.
     */
    default NDArray rows(int lane, int start, int count, NDManager into) {
        int b = batch();
        int d = dim();
        double[] e = new double[b * d * count];
        for (int m = 0; m < b; m++) {
            for (int c = 0; c < count; c++) {
                e[(m * d + start + c) * count + c] = 1;
            }
        }
        return multiply(into.create(e, new ai.djl.ndarray.types.Shape(b, d, count))).transpose(0, 2, 1);
    }

    /** Vector products so far: a block of k vectors counts k (per matrix of the batch). */
    long products();
}
