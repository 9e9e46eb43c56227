package dev.hesstrain.hessian;

import ai.djl.ndarray.NDArray;
import ai.djl.ndarray.NDManager;
import ai.djl.ndarray.types.Shape;
import java.util.ArrayList;
import java.util.List;

/**
 * The curvature quantities of a {@link SymmetricOperator}, each written once: products with host
 * vectors, the dense matrix, its diagonal, and its eigenvalues (exact from the dense matrix when
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
     * H_b·V_b for a host block {@code block} [batch, dim, k] (row-major), in multiplies of at most
     * {@link SymmetricOperator#blockSize()} vectors; the result in the same layout.
     */
    public static double[] times(SymmetricOperator op, double[] block, int k) {
        int b = op.batch();
        int d = op.dim();
        int step = Math.max(1, op.blockSize());
        double[] out = new double[block.length];
        for (int start = 0; start < k; start += step) {
            int count = Math.min(step, k - start);
            double[] part = new double[b * d * count];
            for (int i = 0; i < b * d; i++) {
                System.arraycopy(block, i * k + start, part, i * count, count);
            }
            double[] hv;
            try (NDManager m = op.manager().newSubManager()) {
                hv = op.multiply(m.create(part, new Shape(b, d, count))).toDoubleArray();
            }
            for (int i = 0; i < b * d; i++) {
                System.arraycopy(hv, i * count, out, i * k + start, count);
            }
        }
        return out;
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

    /** H·v for each of {@code vs} (an operator of batch one). */
    public static double[][] times(SymmetricOperator op, double[][] vs) {
        requireSingle(op);
        int d = op.dim();
        int k = vs.length;
        double[] block = new double[d * k];
        for (int c = 0; c < k; c++) {
            for (int i = 0; i < d; i++) {
                block[i * k + c] = vs[c][i];
            }
        }
        double[] hv = times(op, block, k);
        double[][] out = new double[k][d];
        for (int c = 0; c < k; c++) {
            for (int i = 0; i < d; i++) {
                out[c][i] = hv[i * k + c];
            }
        }
        return out;
    }

    /** Every matrix in full, [batch, dim, dim] row-major: H·I in blocks of unit vectors. */
    public static double[] full(SymmetricOperator op) {
        int b = op.batch();
        int d = op.dim();
        double[] eye = new double[b * d * d];
        for (int m = 0; m < b; m++) {
            for (int i = 0; i < d; i++) {
                eye[(m * d + i) * d + i] = 1;
            }
        }
        return times(op, eye, d); // column j of H_b is row j, H_b being symmetric
    }

    /** The diagonal of every matrix, [batch, dim]: e_jᵀ H e_j from blocks of unit vectors. */
    public static double[] diagonal(SymmetricOperator op) {
        int b = op.batch();
        int d = op.dim();
        int step = Math.max(1, op.blockSize());
        double[] diag = new double[b * d];
        for (int start = 0; start < d; start += step) {
            int count = Math.min(step, d - start);
            double[] e = new double[b * d * count];
            for (int m = 0; m < b; m++) {
                for (int c = 0; c < count; c++) {
                    e[(m * d + start + c) * count + c] = 1;
                }
            }
            double[] he = times(op, e, count);
            for (int m = 0; m < b; m++) {
                for (int c = 0; c < count; c++) {
                    diag[m * d + start + c] = he[(m * d + start + c) * count + c];
                }
            }
        }
        return diag;
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
