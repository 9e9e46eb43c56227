package dev.hesstrain.hessian;

import ai.djl.ndarray.NDArray;
import ai.djl.ndarray.NDManager;
import ai.djl.ndarray.types.DataType;
import ai.djl.ndarray.types.Shape;

/**
 * The Hessian of a loss (or of a single output) with respect to all parameters, as an operator: a
 * batch of one matrix of dimension P, multiplied by {@link ParamHessian#hvp(double[][])} in
 * passes of {@link ParamHessian#replicas()} vectors.
 */
public final class ParamHessianOperator implements SymmetricOperator {
    private final ParamHessian hessian;
    private final NDManager manager;

    public ParamHessianOperator(ParamHessian hessian, NDManager manager) {
        this.hessian = hessian;
        this.manager = manager;
    }

    @Override
    public int batch() {
        return 1;
    }

    @Override
    public int dim() {
        return hessian.dim();
    }

    @Override
    public int blockSize() {
        return hessian.replicas();
    }

    @Override
    public NDManager manager() {
        return manager;
    }

    @Override
    public NDArray multiply(NDArray block) {
        Curvature.checkBlock(this, block);
        int p = hessian.dim();
        int k = (int) block.getShape().get(2);
        double[] flat = block.toType(DataType.FLOAT64, false).reshape(p, k).transpose().toDoubleArray(); // [k, p]
        double[] out = new double[k * p];
        for (int start = 0; start < k; start += hessian.replicas()) {
            int count = Math.min(hessian.replicas(), k - start);
            double[][] vs = new double[count][];
            for (int c = 0; c < count; c++) {
                vs[c] = java.util.Arrays.copyOfRange(flat, (start + c) * p, (start + c + 1) * p);
            }
            double[][] hv = hessian.hvp(vs);
            for (int c = 0; c < count; c++) {
                System.arraycopy(hv[c], 0, out, (start + c) * p, p);
            }
        }
        return block.getManager().create(out, new Shape(k, p)).transpose().reshape(1, p, k);
    }

    @Override
    public long products() {
        return hessian.products();
    }
}
