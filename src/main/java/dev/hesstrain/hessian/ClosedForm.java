package dev.hesstrain.hessian;

import ai.djl.ndarray.NDArray;
import ai.djl.ndarray.NDArrays;
import ai.djl.ndarray.NDList;
import ai.djl.ndarray.types.Shape;
import dev.hesstrain.model.Sandwich;
import dev.hesstrain.model.Ops;
import dev.hesstrain.model.Pairs;
import dev.hesstrain.spec.Norm;
import java.util.List;

/**
 * The input-Hessian norms of a closed-form curvature pass ({@link Sandwich}), H_o = Σ_t R_tᵀ
 * diag(w_{t,o}) R_t with rows R_t [K, N, r_t] and weights w_t [O, N, r_t], by batched products:
 * <ul>
 *   <li>trace: tr H_o = Σ_t Σ_a w_{t,o,a} ‖R_t[:, a]‖², O(r·K) per sample and output;
 *   <li>diagonal: (H_o)_jj = Σ_t Σ_a w_{t,o,a} R_t[j, a]², O(r·K), without forming H;
 *   <li>Frobenius: either with the Gram matrix G = R Rᵀ of all rows, ‖H_o‖²_F = w_oᵀ (G ∘ G) w_o,
 *       O(r²·K + O·r²) per sample ({@link Frobenius#GRAM}), or from H formed by batched products,
 *       O(O·r·K²) ({@link Frobenius#FORMED}); {@link #choose} takes the cheaper;
 *   <li>off-diagonal: Frobenius − diagonal.
 * </ul>
 * Norms are per sample, summed over outputs: arrays [N].
 */
public final class ClosedForm {

    /**
     * Up to this many directions the norms of a feature-major pass ({@link Sandwich.Term#featureMajor})
     * form H and its diagonal elementwise, K² products reduced over the rows, instead of N batched
     * products of tiny matrices (see hessian/InputHessian for where it pays).
     */
    public static final int ELEMENTWISE_MAX_DIRECTIONS = 6;

    /** How the Frobenius norm is computed. */
    public enum Frobenius { GRAM, FORMED }

    private ClosedForm() {}

    /**
     * The cheaper way for r rows in all, K directions and O outputs, by multiply-adds per sample:
     * Gram r²K + Or², formed H OrK² + OrK.
     */
    public static Frobenius choose(long r, long k, long o) {
        return choose(0, r, k, o);
    }

    /**
     * As {@link #choose(long, long, long)} with {@code shared} of the r rows the same for every
     * sample (the first term's: the Jacobian of an affine prefix), whose block of the Gram matrix is
     * made once: Gram (r² − shared²)K + Or².
     */
    public static Frobenius choose(long shared, long r, long k, long o) {
        double gram = ((double) r * r - (double) shared * shared) * k + (double) o * r * r;
        double formed = (double) o * r * k * k + (double) o * r * k;
        return gram < formed ? Frobenius.GRAM : Frobenius.FORMED;
    }

    /** The norms of one pass, each computed once when first asked for. */
    public static final class Norms {
        private final Sandwich c;
        private final Frobenius way;
        private final long n;
        private NDArray traces;
        private NDArray diagonals;
        private NDArray frobenius;

        /** Whether every term is feature-major ({@link Sandwich.Term#featureMajor}): the norms then run on that layout. */
        private final boolean featureMajor;

        public Norms(Sandwich c, Frobenius way) {
            this.c = c;
            this.way = way;
            this.n = c.value().getShape().get(0);
            this.featureMajor = !c.terms().isEmpty() && c.terms().stream().allMatch(Sandwich.Term::featureMajor);
        }

        /** The model output [N, O]. */
        public NDArray value() {
            return c.value();
        }

        /** The per-sample norm [N], summed over outputs. */
        public NDArray get(Norm norm) {
            if (c.terms().isEmpty()) {
                return c.value().getManager().zeros(new Shape(n), c.value().getDataType());
            }
            return switch (norm) {
                case TRACE -> Ops.square(traces()).sum(new int[] {0});
                case DIAGONAL -> diagonal();
                case FROBENIUS -> frobenius();
                case OFFDIAGONAL -> frobenius().sub(diagonal());
            };
        }

        private NDArray diagonalNorm;

        private NDArray diagonal() {
            if (diagonalNorm == null) {
                diagonalNorm = Ops.square(diagonals()).sum(new int[] {1, 2});
            }
            return diagonalNorm;
        }

        /** The traces of every output's Hessian, [O, N]. */
        public NDArray traces() {
            if (traces == null) {
                for (Sandwich.Term t : c.terms()) {
                    NDArray tr;
                    if (t.featureMajor()) {
                        NDArray rowNorms = Ops.square(t.rows()).sum(new int[] {1}); // [r, N or 1]
                        tr = oneOutput(t) ? t.weights().mul(rowNorms).sum(new int[] {0}).expandDims(0)
                                : t.weights().mul(rowNorms.expandDims(1)).sum(new int[] {0});
                    } else {
                        NDArray rowNorms = Ops.square(t.rows()).sum(new int[] {0}); // [N or 1, r]
                        tr = t.weights().mul(rowNorms).sum(new int[] {2});
                    }
                    traces = traces == null ? tr : traces.add(tr);
                }
            }
            return traces;
        }

        /** The diagonals of every output's Hessian, [N, O, K]. */
        public NDArray diagonals() {
            if (diagonals == null) {
                for (Sandwich.Term t : c.terms()) {
                    NDArray dg;
                    if (t.featureMajor() && t.rows().getShape().get(1) <= ELEMENTWISE_MAX_DIRECTIONS) {
                        // Σ_a w[a, o, n] R[a, j, n]² elementwise, [O, K, N], as [N, O, K]
                        NDArray w = oneOutput(t) ? t.weights().expandDims(1) : t.weights(); // [r, O, N]
                        dg = w.expandDims(2).mul(Ops.square(t.rows()).expandDims(1)).sum(new int[] {0}).transpose(2, 0, 1);
                    } else {
                        NDArray sq = Ops.square(t.rowsByDirection()).transpose(1, 2, 0); // [N or 1, r, K]
                        dg = t.weightsByOutput().transpose(1, 0, 2).matMul(sq);
                    }
                    diagonals = diagonals == null ? dg : diagonals.add(dg);
                }
            }
            return diagonals;
        }

        private NDArray frobenius() {
            if (frobenius == null) {
                frobenius = way == Frobenius.GRAM ? gram(new int[] {1, 2})
                        : elementwise() ? sumButLast(Ops.square(formed()))
                        : Ops.square(full()).sum(new int[] {1, 2, 3});
            }
            return frobenius;
        }

        /** Whether the pass has no curvature term (every Hessian is zero). */
        public boolean flat() {
            return c.terms().isEmpty();
        }

        /** The squared Frobenius norm of every output's Hessian, [N, O], by this object's way. */
        public NDArray frobeniusPerOutput() {
            return way == Frobenius.GRAM ? gram(new int[] {2})
                    : elementwise() ? Ops.square(formedByOutput()).sum(new int[] {1, 2}).transpose()
                    : Ops.square(full()).sum(new int[] {2, 3});
        }

        /**
         * w_oᵀ (G ∘ G) w_o with G = R Rᵀ over all rows, [N, O], summed over {@code axes}. Rows
         * shared by every sample (the first layer's Jacobian W₁, [K, 1, r_s]) make their block of G
         * once, not per sample: with the other rows P, w_Sᵀ(G_SS∘G_SS)w_S + 2 w_Sᵀ(G_SP∘G_SP)w_P +
         * w_Pᵀ(G_PP∘G_PP)w_P, which saves N·r_s²·K multiply-adds (a quarter of the Gram products on
         * digits) for a few more ops; used where that saving exceeds 2²⁰.
         */
        private NDArray gram(int[] axes) {
            List<Sandwich.Term> shared = new java.util.ArrayList<>();
            List<Sandwich.Term> own = new java.util.ArrayList<>();
            long rs = 0;
            for (Sandwich.Term t : c.terms()) {
                Shape rows = t.rowsByDirection().getShape();
                boolean one = rows.get(1) == 1 && n > 1;
                (one ? shared : own).add(t);
                rs += one ? rows.get(2) : 0;
            }
            long k = c.terms().get(0).rowsByDirection().getShape().get(0);
            if (!shared.isEmpty() && own.isEmpty()) {
                // every row shared (one curvature term above an affine prefix): one G for all samples
                NDArray[] s = concatenated(shared, false);
                NDArray sn = s[0].transpose(1, 2, 0); // [1, r, K]
                NDArray ws = s[1].transpose(1, 0, 2); // [N, O, r]
                return ws.matMul(Ops.square(sn.matMul(sn.transpose(0, 2, 1)))).mul(ws).sum(axes);
            }
            if (!shared.isEmpty() && !own.isEmpty() && n * rs * rs * k > (1L << 20)) {
                NDArray[] s = concatenated(shared, false);
                NDArray[] p = concatenated(own, true);
                NDArray sn = s[0].transpose(1, 2, 0); // [1, r_s, K]
                NDArray pn = p[0].transpose(1, 2, 0); // [N, r_p, K]
                NDArray pt = pn.transpose(0, 2, 1);
                NDArray ws = s[1].transpose(1, 0, 2); // [N, O, r_s]
                NDArray wp = p[1].transpose(1, 0, 2); // [N, O, r_p]
                NDArray ss = ws.matMul(Ops.square(sn.matMul(sn.transpose(0, 2, 1)))).mul(ws);
                NDArray sp = ws.matMul(Ops.square(sn.matMul(pt))).mul(wp);
                NDArray pp = wp.matMul(Ops.square(pn.matMul(pt))).mul(wp);
                NDArray cross = sp.sum(axes); // twice: G_SP and G_PS (no Java scalar, see model/Constants)
                return ss.sum(axes).add(cross).add(cross).add(pp.sum(axes));
            }
            NDArray[] rw = concatenated();
            NDArray rn = rw[0].transpose(1, 2, 0); // [N, r, K]
            NDArray g = rn.matMul(rn.transpose(0, 2, 1)); // [N, r, r]
            NDArray wn = rw[1].transpose(1, 0, 2); // [N, O, r]
            return wn.matMul(Ops.square(g)).mul(wn).sum(axes);
        }

        /**
         * All rows [K, N, r] and all weights [O, N, r] of the pass, the terms side by side, so that
         * H_o = R[:, n]ᵀ diag(w[o, n]) R[:, n] (for products with H without forming it).
         */
        public NDArray[] rowsAndWeights() {
            return concatenated();
        }

        /**
         * The second derivatives u_aᵀ H_o u_b along the pass's K directions for every pair (a, b):
         * [P, N, O], Σ_t Σ_i w_{t,o,i} R_t[a, i] R_t[b, i], in the layout of a Taylor pass's {@code
         * hess} (for Hutchinson's estimates, without the second-order channel), or null when every
         * Hessian is zero.
         */
        public NDArray directional(Pairs pairs) {
            if (c.terms().isEmpty()) {
                return null;
            }
            NDArray[] rw = concatenated();
            NDArray prod = pairs.outer(rw[0]).transpose(1, 0, 2); // [N, P, r]
            return prod.matMul(rw[1].transpose(1, 2, 0)).transpose(1, 0, 2); // [N, P, O] -> [P, N, O]
        }

        /** The Hessians [N, O, K, K] formed by batched products Rᵀ diag(w_o) R. */
        public NDArray full() {
            if (c.terms().isEmpty()) {
                long o = c.value().getShape().get(1);
                return c.value().getManager().zeros(new Shape(n, o, 0, 0), c.value().getDataType());
            }
            if (elementwise()) {
                return formedByOutput().transpose(3, 0, 1, 2); // [O, K, K, N] -> [N, O, K, K]
            }
            NDArray[] rw = concatenated();
            NDArray rn = rw[0].transpose(1, 2, 0).expandDims(1); // [N, 1, r, K]
            NDArray wn = rw[1].transpose(1, 0, 2).expandDims(3); // [N, O, r, 1]
            return rn.transpose(0, 1, 3, 2).matMul(rn.mul(wn)); // [N, O, K, K]
        }

        /** Whether H is formed elementwise on the feature-major layout ({@link #formedByOutput}). */
        private boolean elementwise() {
            return featureMajor && c.terms().get(0).rows().getShape().get(1) <= ELEMENTWISE_MAX_DIRECTIONS;
        }

        /**
         * The Hessians [O, K, K, N] of a feature-major pass, Σ_a w[a, o, n] R[a, j, n] R[a, k, n]
         * elementwise, reduced over the rows on their leading axis: for a few directions the K²
         * products cost less than N batched products of tiny K × r by r × K matrices.
         */
        private NDArray formedByOutput() {
            NDArray h = formed();
            return h.getShape().dimension() == 3 ? h.expandDims(0) : h;
        }

        /** {@link #formedByOutput}, or [K, K, N] for a pass of one output combination (one fewer op). */
        private NDArray formed() {
            NDArray[] rw = joinedFeatureMajor(c.terms(), true);
            if (rw[1].getShape().dimension() == 2) {
                NDArray scaled = rw[0].mul(rw[1].expandDims(1)); // [r, K, N]
                return scaled.expandDims(2).mul(rw[0].expandDims(1)).sum(new int[] {0});
            }
            NDArray scaled = rw[0].expandDims(1).mul(rw[1].expandDims(2)); // [r, O, K, N]
            return scaled.expandDims(3).mul(rw[0].expandDims(1).expandDims(1)).sum(new int[] {0});
        }

        /** Sums every axis but the last (the samples'). */
        private static NDArray sumButLast(NDArray a) {
            int[] axes = new int[a.getShape().dimension() - 1];
            for (int i = 0; i < axes.length; i++) {
                axes[i] = i;
            }
            return a.sum(axes);
        }

        /** Whether a feature-major term's weights are [r, N or 1]: a pass of one output combination. */
        private static boolean oneOutput(Sandwich.Term t) {
            return t.weights().getShape().dimension() == 2;
        }

        /** All rows [K, N, r] and all weights [O, N, r], the terms side by side. */
        private NDArray[] concatenated() {
            return concatenated(c.terms(), true);
        }

        /** The rows (broadcast to N samples with {@code batchRows}) and weights of {@code terms}, side by side. */
        private NDArray[] concatenated(List<Sandwich.Term> terms, boolean batchRows) {
            if (terms.stream().allMatch(Sandwich.Term::featureMajor)) {
                NDArray[] rw = joinedFeatureMajor(terms, batchRows);
                NDArray w = rw[1].getShape().dimension() == 2 ? rw[1].transpose().expandDims(0) : rw[1].transpose(1, 2, 0);
                return new NDArray[] {rw[0].transpose(1, 2, 0), w};
            }
            if (terms.size() == 1) {
                Sandwich.Term t = terms.get(0);
                return new NDArray[] {batchRows ? batch(t.rowsByDirection()) : t.rowsByDirection(), batch(t.weightsByOutput())};
            }
            NDList rows = new NDList();
            NDList weights = new NDList();
            for (Sandwich.Term t : terms) {
                rows.add(batchRows ? batch(t.rowsByDirection()) : t.rowsByDirection());
                weights.add(batch(t.weightsByOutput()));
            }
            return new NDArray[] {NDArrays.concat(rows, 2), NDArrays.concat(weights, 2)};
        }

        /**
         * Feature-major terms side by side in their own layout: rows [r, K, N] (or [r, K, 1] when
         * none is per sample and not {@code batchRows}) and weights [r, O, N] (or [r, N]), joined on
         * their leading axis (contiguous blocks).
         */
        private NDArray[] joinedFeatureMajor(List<Sandwich.Term> terms, boolean batchRows) {
            boolean perSample = batchRows || terms.stream().anyMatch(t -> t.rows().getShape().get(2) == n);
            NDList rows = new NDList();
            NDList weights = new NDList();
            for (Sandwich.Term t : terms) {
                rows.add(perSample ? batchLast(t.rows()) : t.rows());
                weights.add(batchLast(t.weights()));
            }
            return terms.size() == 1 ? new NDArray[] {rows.get(0), weights.get(0)}
                    : new NDArray[] {NDArrays.concat(rows, 0), NDArrays.concat(weights, 0)};
        }

        /** [r, A, 1] broadcast to [r, A, N] ([r, 1] to [r, N]); [r, A, N] as it is. */
        private NDArray batchLast(NDArray a) {
            Shape s = a.getShape();
            int last = s.dimension() - 1;
            return s.get(last) == n ? a : a.broadcast(s.slice(0, last).add(n));
        }

        /** [A, 1, r] broadcast to [A, N, r]; [A, N, r] as it is. */
        private NDArray batch(NDArray a) {
            Shape s = a.getShape();
            return s.get(1) == n ? a : a.broadcast(new Shape(s.get(0), n, s.get(2)));
        }
    }
}
