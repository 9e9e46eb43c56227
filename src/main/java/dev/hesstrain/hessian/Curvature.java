package dev.hesstrain.hessian;

import ai.djl.ndarray.NDArray;
import ai.djl.ndarray.NDArrays;
import ai.djl.ndarray.NDList;
import ai.djl.ndarray.NDManager;
import ai.djl.ndarray.index.NDIndex;
import ai.djl.ndarray.types.DataType;
import ai.djl.ndarray.types.Shape;
import java.io.IOException;
import java.io.UncheckedIOException;
import java.util.ArrayList;
import java.util.List;

/**
 * The curvature quantities of a {@link SymmetricOperator}, each written once: products (engine or
 * host blocks), rows (spread over the operator's lanes), the dense matrix and its diagonal from
 * them, and its eigenvalues (exact from the dense matrix when
 * Lanczos would need every step anyway, else {@link Lanczos}). Trace estimates are
 * {@link Hutchinson}'s, densities {@link SpectralDensity}'s.
 */
public final class Curvature {
    private Curvature() {}

    static void checkBlock(SymmetricOperator op, NDArray block) {
        Shape s = block.getShape();
        if (s.dimension() != 3 || s.get(0) != op.batch() || s.get(1) != op.dim()) {
            throw new IllegalArgumentException("a block of shape " + s + " for " + op.batch() + " operator(s) of dimension "
                    + op.dim() + ": expected (" + op.batch() + ", " + op.dim() + ", k)");
        }
    }

    /**
     * H_b·V_b for an engine block V [batch, dim, k], in multiplies of at most
     * {@link SymmetricOperator#blockSize()} vectors: [batch, dim, k] in float64, on V's manager.
     */
    public static NDArray times(SymmetricOperator op, NDArray block) {
        checkBlock(op, block);
        int k = (int) block.getShape().get(2);
        int step = Math.max(1, op.blockSize());
        if (k <= step) {
            return op.multiply(block);
        }
        NDList parts = new NDList();
        for (int start = 0; start < k; start += step) {
            int count = Math.min(step, k - start);
            parts.add(op.multiply(block.get(new NDIndex(":, :, " + start + ":" + (start + count)))));
        }
        return NDArrays.concat(parts, 2);
    }

    /** As {@link #times(SymmetricOperator, NDArray)} for a host block [batch, dim, k], row-major. */
    public static double[] times(SymmetricOperator op, double[] block, int k) {
        try (NDManager m = op.manager().newSubManager()) {
            return times(op, m.create(block, new Shape(op.batch(), op.dim(), k))).toDoubleArray();
        }
    }

    /** H_b·v for one vector v, the same for every matrix: [batch, dim]. */
    public static double[] times(SymmetricOperator op, double[] v) {
        if (v.length != op.dim()) {
            throw new IllegalArgumentException("a vector of length " + v.length + " for dimension " + op.dim());
        }
        double[] block = new double[op.batch() * op.dim()];
        for (int b = 0; b < op.batch(); b++) {
            System.arraycopy(v, 0, block, b * op.dim(), v.length);
        }
        return times(op, block, 1);
    }

    /** Takes blocks of rows: [batch, count, dim] engine arrays, freed after the call. */
    public interface RowSink {
        void accept(int start, int count, NDArray rows) throws IOException;
    }

    /**
     * Rows 0..rows-1 of every matrix, in blocks of {@link SymmetricOperator#rowBlock(int)} spread
     * over the operator's lanes; each block goes to {@code sink} from its lane's thread (so a sink
     * for several lanes is thread-safe), in no fixed order. Every quantity that needs whole rows
     * (the dense matrix, streamed or in memory, and the diagonal) is built on this.
     */
    public static void rows(SymmetricOperator op, int rows, RowSink sink) throws IOException {
        if (rows < 0 || rows > op.dim()) {
            throw new IllegalArgumentException(rows + " rows of a matrix of dimension " + op.dim());
        }
        List<int[]> blocks = new ArrayList<>();
        for (int start = 0, count; start < rows; start += count) {
            count = Math.max(1, Math.min(op.rowBlock(start), rows - start));
            blocks.add(new int[] {start, count});
        }
        Lanes.run(op.lanes(), blocks.size(), (lane, i) -> {
            int[] b = blocks.get(i);
            try (NDManager m = op.manager().newSubManager()) {
                sink.accept(b[0], b[1], op.rows(lane, b[0], b[1], m));
            }
        });
    }

    /** Every matrix in full, [batch, dim, dim] row-major, from its rows. */
    public static double[] full(SymmetricOperator op) {
        int b = op.batch();
        int d = op.dim();
        double[] h = new double[b * d * d];
        try {
            rows(op, d, (start, count, rows) -> {
                double[] v = rows.toType(DataType.FLOAT64, false).toDoubleArray(); // [b, count, d]
                for (int m = 0; m < b; m++) {
                    System.arraycopy(v, m * count * d, h, (m * d + start) * d, count * d);
                }
            });
        } catch (IOException e) {
            throw new UncheckedIOException(e);
        }
        return h;
    }

    /** The diagonal of every matrix [batch, dim], and each matrix's Frobenius norm [batch], from its rows. */
    public record Diagonal(double[] values, double[] frobenius) {}

    /**
     * The diagonal of every matrix, e_jᵀ H e_j, with the Frobenius norms that the same rows give
     * at no extra product (both reduced on the engine).
     */
    public static Diagonal diagonalAndNorm(SymmetricOperator op) {
        int b = op.batch();
        int d = op.dim();
        double[] diag = new double[b * d];
        double[] squares = new double[b];
        try {
            rows(op, d, (start, count, rows) -> {
                NDArray r = rows.toType(DataType.FLOAT64, false);
                NDArray square = r.get(new NDIndex(":, :, " + start + ":" + (start + count)));
                double[] dg = square.mul(square.getManager().eye(count, count, 0, DataType.FLOAT64))
                        .sum(new int[] {2}).toDoubleArray(); // [b, count]
                double[] ss = r.mul(r).sum(new int[] {1, 2}).toDoubleArray(); // [b]
                synchronized (squares) {
                    for (int m = 0; m < b; m++) {
                        System.arraycopy(dg, m * count, diag, m * d + start, count);
                        squares[m] += ss[m];
                    }
                }
            });
        } catch (IOException e) {
            throw new UncheckedIOException(e);
        }
        double[] frobenius = new double[b];
        for (int m = 0; m < b; m++) {
            frobenius[m] = Math.sqrt(squares[m]);
        }
        return new Diagonal(diag, frobenius);
    }

    /** The diagonal of every matrix, [batch, dim]. */
    public static double[] diagonal(SymmetricOperator op) {
        return diagonalAndNorm(op).values();
    }

    /** One matrix's eigenvalues: the top k by magnitude, both ends of the spectrum, and how they were found. */
    public record Eigs(Lanczos.Eigs result, boolean exact) {}

    /**
     * The {@code k} eigenvalues of largest magnitude of each matrix, and its extreme eigenvalues.
     * When {@code maxSteps} Lanczos steps would reach the dimension, Lanczos is exact only after
     * {@code dim} products, which also give the dense matrix: it is formed and decomposed exactly
     * (EJML). Otherwise {@link Lanczos#topK} runs (an operator of batch one).
     */
    public static List<Eigs> eigs(SymmetricOperator op, int k, int maxSteps, double tol, long seed,
            boolean withVectors) {
        int d = op.dim();
        List<Eigs> out = new ArrayList<>();
        if (maxSteps >= d) {
            double[] h = full(op);
            for (int m = 0; m < op.batch(); m++) {
                out.add(new Eigs(dense(h, m * d * d, d, k, withVectors), true));
            }
            return out;
        }
        requireSingle(op);
        out.add(new Eigs(Lanczos.topK(op, k, maxSteps, tol, seed, withVectors), false));
        return out;
    }

    /** The exact top-k of a dense matrix, with the residuals ‖H v − λ v‖ of its eigenvectors. */
    static Lanczos.Eigs dense(double[] h, int offset, int d, int k, boolean withVectors) {
        SymmetricEigen.Result r = SymmetricEigen.of(h, offset, d);
        int[] order = SymmetricEigen.byMagnitude(r.values());
        int kk = Math.min(k, d);
        double[] values = new double[kk];
        double[] residuals = new double[kk];
        double[][] vectors = withVectors ? new double[kk][] : null;
        for (int i = 0; i < kk; i++) {
            values[i] = r.values()[order[i]];
            residuals[i] = residual(h, offset, d, r, order[i]);
            if (withVectors) {
                vectors[i] = r.vector(order[i]);
            }
        }
        double[] all = r.values();
        double[] ends = {residual(h, offset, d, r, 0), residual(h, offset, d, r, d - 1)};
        return new Lanczos.Eigs(values, vectors, residuals, all[0], all[d - 1], ends, d, true);
    }

    private static double residual(double[] h, int offset, int d, SymmetricEigen.Result r, int j) {
        double[] v = r.vector(j);
        double lambda = r.values()[j];
        double res = 0;
        for (int a = 0; a < d; a++) {
            double hv = 0;
            for (int c = 0; c < d; c++) {
                hv += h[offset + a * d + c] * v[c];
            }
            res += (hv - lambda * v[a]) * (hv - lambda * v[a]);
        }
        return Math.sqrt(res);
    }

    static void requireSingle(SymmetricOperator op) {
        if (op.batch() != 1) {
            throw new IllegalArgumentException("an operator of batch " + op.batch() + " where one matrix is needed");
        }
    }

    /** The float64 dot product. */
    public static double dot(double[] a, double[] b) {
        double s = 0;
        for (int i = 0; i < a.length; i++) {
            s += a[i] * b[i];
        }
        return s;
    }

}
