package dev.hesstrain.hessian;

import java.util.Arrays;
import org.ejml.data.DMatrixRMaj;
import org.ejml.dense.row.factory.DecompositionFactory_DDRM;
import org.ejml.interfaces.decomposition.EigenDecomposition_F64;

/** The reference eigenvalues of the tests: EJML's own, called directly, not through the project's code. */
public final class EigenReference {
    private EigenReference() {}

    /** The eigenvalues of a symmetric matrix, ascending. */
    public static double[] of(double[][] a) {
        int n = a.length;
        EigenDecomposition_F64<DMatrixRMaj> eig = DecompositionFactory_DDRM.eig(n, false, true);
        if (!eig.decompose(new DMatrixRMaj(a))) {
            throw new AssertionError("EJML failed on the reference matrix");
        }
        double[] v = new double[n];
        for (int i = 0; i < n; i++) {
            v[i] = eig.getEigenvalue(i).real;
        }
        Arrays.sort(v);
        return v;
    }
}
