package dev.hesstrain.hessian;

import java.util.Arrays;
import java.util.Comparator;
import java.util.stream.IntStream;
import org.ejml.data.DMatrixRMaj;
import org.ejml.dense.row.factory.DecompositionFactory_DDRM;
import org.ejml.interfaces.decomposition.EigenDecomposition_F64;

/**
 * Eigen-decompositions of small dense symmetric matrices in float64, by EJML's symmetric QR
 * algorithm (Householder tridiagonalisation, then implicit QR): the input Hessians of a point and
 * the Lanczos tridiagonal matrices. This class only orders EJML's result: eigenvalues ascending,
 * eigenvectors as the columns of {@code vectors}.
 */
public final class SymmetricEigen {
    private SymmetricEigen() {}

    /** Eigenvalues (ascending) and eigenvectors ({@code vectors[i][j]}: component i of eigenvector j). */
    public record Result(double[] values, double[][] vectors) {

        /** Eigenvector j as an array. */
        public double[] vector(int j) {
            double[] v = new double[vectors.length];
            for (int i = 0; i < v.length; i++) {
                v[i] = vectors[i][j];
            }
            return v;
        }
    }

    /** The decomposition of a symmetric matrix (only the upper triangle is read); the input is not changed. */
    public static Result of(double[][] matrix) {
        int n = matrix.length;
        DMatrixRMaj a = new DMatrixRMaj(n, n);
        for (int i = 0; i < n; i++) {
            if (matrix[i].length != n) {
                throw new IllegalArgumentException("the matrix is not square: row " + i + " has " + matrix[i].length
                        + " entries, expected " + n);
            }
            for (int j = i; j < n; j++) {
                a.unsafe_set(i, j, matrix[i][j]);
                a.unsafe_set(j, i, matrix[i][j]);
            }
        }
        return decompose(a);
    }

    /** The decomposition of a row-major symmetric n × n matrix stored at {@code values[offset..]}. */
    public static Result of(double[] values, int offset, int n) {
        DMatrixRMaj a = new DMatrixRMaj(n, n);
        for (int i = 0; i < n; i++) {
            for (int j = i; j < n; j++) {
                double x = values[offset + i * n + j];
                a.unsafe_set(i, j, x);
                a.unsafe_set(j, i, x);
            }
        }
        return decompose(a);
    }

    /** The symmetric tridiagonal matrix with diagonal {@code alpha} and off-diagonal {@code beta}. */
    public static Result tridiagonal(double[] alpha, double[] beta) {
        int n = alpha.length;
        DMatrixRMaj t = new DMatrixRMaj(n, n);
        for (int i = 0; i < n; i++) {
            t.unsafe_set(i, i, alpha[i]);
            if (i < n - 1) {
                t.unsafe_set(i, i + 1, beta[i]);
                t.unsafe_set(i + 1, i, beta[i]);
            }
        }
        return decompose(t);
    }

    private static Result decompose(DMatrixRMaj a) {
        int n = a.numRows;
        if (n == 0) {
            return new Result(new double[0], new double[0][0]);
        }
        for (double x : a.data) {
            if (!Double.isFinite(x)) {
                throw new NonFiniteException("the matrix holds " + x + ": no eigenvalues");
            }
        }
        EigenDecomposition_F64<DMatrixRMaj> eig = DecompositionFactory_DDRM.eig(n, true, true);
        if (!eig.decompose(a.copy())) {
            throw new IllegalStateException("EJML's symmetric eigen-decomposition failed on a " + n + " x " + n
                    + " matrix");
        }
        Integer[] order = IntStream.range(0, n).boxed().toArray(Integer[]::new);
        Arrays.sort(order, Comparator.comparingDouble(i -> eig.getEigenvalue(i).real));
        double[] values = new double[n];
        double[][] vectors = new double[n][n];
        for (int c = 0; c < n; c++) {
            values[c] = eig.getEigenvalue(order[c]).real;
            DMatrixRMaj v = eig.getEigenVector(order[c]);
            for (int r = 0; r < n; r++) {
                vectors[r][c] = v.get(r, 0);
            }
        }
        return new Result(values, vectors);
    }

    /** Indices of {@code values} by decreasing magnitude (ties: larger value first). */
    public static int[] byMagnitude(double[] values) {
        return IntStream.range(0, values.length).boxed()
                .sorted((a, b) -> {
                    int c = Double.compare(Math.abs(values[b]), Math.abs(values[a]));
                    return c != 0 ? c : Double.compare(values[b], values[a]);
                })
                .mapToInt(Integer::intValue)
                .toArray();
    }

    /** A Hessian or weights that are not finite: there is nothing to decompose. */
    public static final class NonFiniteException extends IllegalArgumentException {
        public NonFiniteException(String message) {
            super(message);
        }
    }
}
