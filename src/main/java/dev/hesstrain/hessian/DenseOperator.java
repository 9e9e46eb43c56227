package dev.hesstrain.hessian;

import ai.djl.ndarray.NDArray;
import ai.djl.ndarray.NDManager;
import ai.djl.ndarray.types.DataType;
import ai.djl.ndarray.types.Shape;

/**
 * A batch of dense symmetric matrices held on the engine, [batch, dim, dim] in float64: the exact
 * input Hessians of a chunk of points (one matrix per point and output, or per point's loss).
 */
public final class DenseOperator implements SymmetricOperator, AutoCloseable {
    private final NDManager manager;
    private final NDArray matrices;
    private final int batch;
    private final int dim;
    private final int blockSize;
    private long products;

    /**
     * @param values row-major [batch, dim, dim]
     * @param parent the manager of the caller; this operator holds its matrices in a sub-manager
     */
    public DenseOperator(double[] values, int batch, int dim, NDManager parent) {
        this(values, batch, dim, dim, parent);
    }

    /** As {@link #DenseOperator(double[], int, int, NDManager)}, multiplying {@code blockSize} vectors at a time. */
    public DenseOperator(double[] values, int batch, int dim, int blockSize, NDManager parent) {
        if ((long) batch * dim * dim != values.length) {
            throw new IllegalArgumentException(values.length + " values are not " + batch + " matrices of " + dim + " x "
                    + dim);
        }
        this.manager = parent.newSubManager();
        this.matrices = manager.create(values, new Shape(batch, dim, dim));
        this.batch = batch;
        this.dim = dim;
        this.blockSize = blockSize;
    }

    @Override
    public int batch() {
        return batch;
    }

    @Override
    public int dim() {
        return dim;
    }

    @Override
    public int blockSize() {
        return blockSize;
    }

    @Override
    public NDManager manager() {
        return manager;
    }

    @Override
    public NDArray multiply(NDArray block) {
        Curvature.checkBlock(this, block);
        products += block.getShape().get(2);
        // (H V)ᵀ = Vᵀ H for symmetric H, with V first so that the result joins V's manager
        return block.toType(DataType.FLOAT64, false).transpose(0, 2, 1).matMul(matrices).transpose(0, 2, 1);
    }

    @Override
    public long products() {
        return products;
    }

    @Override
    public void close() {
        manager.close();
    }
}
