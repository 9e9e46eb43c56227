package dev.hesstrain.hessian;

import ai.djl.ndarray.NDArray;
import ai.djl.ndarray.NDManager;
import ai.djl.ndarray.types.DataType;
import ai.djl.ndarray.types.Shape;

/**
 * The input Hessians of a closed-form pass as an operator, without forming them: for sample n and
 * output o, H_{n,o} v = R_nᵀ (w_{n,o} ⊙ (R_n v)) with the pass's rows R_n [r, d] and weights
 * w_{n,o} [r] (see {@link ClosedForm.Norms#rowsAndWeights}): O(r·d) per vector, against O(d²) for
 * a formed matrix and O(r·d²) to form it. The batch is sample-major, matrix n·O + o.
 */
public final class SandwichOperator implements SymmetricOperator, AutoCloseable {
    private final NDManager manager;
    private final NDArray rows; // R_n, [N, 1, r, d]
    private final NDArray rowsT; // R_nᵀ, [N, 1, d, r]
    private final NDArray weights; // [N, O, 1, r]
    private final int samples;
    private final int outputs;
    private final int dim;
    private long products;

    /**
     * @param norms the pass (its arrays are copied to float64 in this operator's own manager)
     * @param parent the manager of the caller; this operator holds its arrays in a sub-manager
     */
    public SandwichOperator(ClosedForm.Norms norms, NDManager parent) {
        this.manager = parent.newSubManager();
        NDArray[] rw = norms.rowsAndWeights();
        NDArray r = rw[0].toType(DataType.FLOAT64, true); // [d, N, r]
        NDArray w = rw[1].toType(DataType.FLOAT64, true); // [O, N, r]
        r.attach(manager);
        w.attach(manager);
        this.dim = (int) r.getShape().get(0);
        this.samples = (int) r.getShape().get(1);
        this.outputs = (int) w.getShape().get(0);
        this.rowsT = r.transpose(1, 0, 2).expandDims(1);
        this.rows = rowsT.transpose(0, 1, 3, 2);
        this.weights = w.transpose(1, 0, 2).expandDims(2);
    }

    @Override
    public int batch() {
        return samples * outputs;
    }

    @Override
    public int dim() {
        return dim;
    }

    @Override
    public int blockSize() {
        return dim;
    }

    @Override
    public NDManager manager() {
        return manager;
    }

    @Override
    public NDArray multiply(NDArray block) {
        Curvature.checkBlock(this, block);
        long k = block.getShape().get(2);
        products += k;
        // (H V)ᵀ = ((Vᵀ Rᵀ) ⊙ w) R, V first so that the result joins V's manager
        NDArray vt = block.toType(DataType.FLOAT64, false).reshape(samples, outputs, dim, k).transpose(0, 1, 3, 2);
        NDArray hvT = vt.matMul(rowsT).mul(weights).matMul(rows); // [N, O, k, d]
        return hvT.transpose(0, 1, 3, 2).reshape(new Shape(batch(), dim, k));
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
