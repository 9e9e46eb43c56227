package dev.hesstrain.model;

import ai.djl.ndarray.NDArray;
import ai.djl.ndarray.types.Shape;
import ai.djl.nn.core.Linear;
import java.util.List;

/** y = x Wᵀ + b with W shaped [out, in], as torch.nn.Linear. */
public final class Dense implements Layer, Columns.Layer, Sandwich.Layer, Backprop.Layer {
    private final NDArray weight;
    private final NDArray bias;

    public Dense(NDArray weight, NDArray bias) {
        this.weight = weight;
        this.bias = bias;
    }

    @Override
    public NDArray forward(NDArray x) {
        return bias == null ? Linear.linear(x, weight).singletonOrThrow() : Linear.linear(x, weight, bias).singletonOrThrow();
    }

    /**
     * R replicas: weights [R, out, in] times inputs [R, N, in] as one batched product; a shared
     * input [1, N, in] is one product with all replicas' weights side by side, [N, in] × [in, R·out].
     */
    @Override
    public NDArray forward(NDArray x, List<NDArray> params) {
        NDArray w = params.get(0);
        long r = w.getShape().get(0);
        long out = w.getShape().get(1);
        long in = w.getShape().get(2);
        NDArray y;
        if (x.getShape().get(0) == 1 && r > 1) {
            long n = x.getShape().get(1);
            y = x.reshape(n, in).matMul(w.reshape(r * out, in).transpose()).reshape(n, r, out).transpose(1, 0, 2);
        } else {
            y = x.batchMatMul(w.transpose(0, 2, 1));
        }
        return params.size() > 1 ? y.add(params.get(1).reshape(r, 1, out)) : y;
    }

    @Override
    public boolean replicable() {
        return true;
    }

    @Override
    public Taylor forward(Taylor t, Pairs pairs) {
        NDArray value = forward(t.value());
        NDArray jac = Linear.linear(t.jac(), weight).singletonOrThrow();
        NDArray hess = t.hess() == null ? null : Linear.linear(t.hess(), weight).singletonOrThrow();
        return new Taylor(value, jac, hess);
    }

    @Override
    public Sandwich.Step curvature(NDArray value, NDArray jac) {
        return Sandwich.Step.affine(forward(value), jac == null ? null : Linear.linear(jac, weight).singletonOrThrow(),
                this::transposed);
    }

    /**
     * On a replica axis: W [R, out, in]; the Jacobian [K, R or 1, N or 1, in] times W_rᵀ and the
     * adjoint [O, R or 1, N or 1, out] times W_r, each one batched product broadcast over K or O.
     */
    @Override
    public Sandwich.Step curvature(NDArray value, NDArray jac, List<NDArray> params) {
        NDArray w = params.get(0);
        NDArray wt = w.transpose(0, 2, 1);
        return Sandwich.Step.affine(forward(value, params), jac == null ? null : jac.matMul(wt), c -> c.matMul(w));
    }

    /** The adjoint of the input from that of the output, c W for c [O, N or 1, out]. */
    public NDArray transposed(NDArray c) {
        return c.matMul(weight);
    }

    @Override
    public Columns forward(Columns c, Pairs pairs) {
        NDArray value = weight.matMul(c.value());
        if (bias != null) {
            value = value.add(bias.expandDims(1));
        }
        return new Columns(value, times(c.jac()), c.hess() == null ? null : times(c.hess()));
    }

    /**
     * R replicas feature-major: W [R, out, in] times value [R, in, N] and derivatives
     * [R or 1, in, K, N or 1], one batched product each (a shared derivative broadcasts).
     */
    @Override
    public Columns forward(Columns c, Pairs pairs, List<NDArray> params) {
        NDArray w = params.get(0);
        NDArray value = w.matMul(c.value());
        if (params.size() > 1) {
            value = value.add(params.get(1).expandDims(2));
        }
        return new Columns(value, times(w, c.jac()), c.hess() == null ? null : times(w, c.hess()));
    }

    /** Feature-major: W value + b, W jac, and the adjoint Wᵀ c for c [out, O, N or 1] or [out, N or 1]. */
    @Override
    public Sandwich.Step curvatureColumns(NDArray value, NDArray jac) {
        NDArray v = weight.matMul(value);
        if (bias != null) {
            v = v.add(bias.expandDims(1));
        }
        return Sandwich.Step.affine(v, jac == null ? null : times(jac), c -> product(weight.transpose(), c));
    }

    /**
     * R replicas feature-major: W [R, out, in] times value [R or 1, in, N] (+ b), the Jacobian [R or
     * 1, in, K, N or 1] and the adjoint Wᵀ c for c [R or 1, out, O, N or 1] or [R or 1, out, N or
     * 1], one batched product each (a shared operand broadcasts).
     */
    @Override
    public Sandwich.Step curvatureColumns(NDArray value, NDArray jac, List<NDArray> params) {
        NDArray w = params.get(0);
        NDArray v = w.matMul(value);
        if (params.size() > 1) {
            v = v.add(params.get(1).expandDims(2));
        }
        NDArray wt = w.transpose(0, 2, 1);
        return Sandwich.Step.affine(v, jac == null ? null : times(w, jac),
                c -> c.getShape().dimension() == 3 ? wt.matMul(c) : times(wt, c));
    }

    /** W d for replicated W [R, out, in] and d [R or 1, in, K, N]. */
    private static NDArray times(NDArray w, NDArray d) {
        Shape s = d.getShape();
        NDArray y = w.matMul(d.reshape(s.get(0), s.get(1), -1));
        return y.reshape(w.getShape().get(0), w.getShape().get(1), s.get(2), s.get(3));
    }

    /** W d for derivatives d [in, K, N]: one product over all directions and samples. */
    private NDArray times(NDArray d) {
        return product(weight, d);
    }

    /** m d for m [a, b] and d [b, K, N] (one product over the last two axes) or [b, N]. */
    private static NDArray product(NDArray m, NDArray d) {
        Shape s = d.getShape();
        if (s.dimension() == 2) {
            return m.matMul(d);
        }
        return m.matMul(d.reshape(s.get(0), -1)).reshape(m.getShape().get(0), s.get(1), s.get(2));
    }

    /**
     * The curvature pass: z = x Wᵀ + b. Backward Jᵀ: c W; densely Wᵀ H W. The parameter diagonal
     * needs only the per-sample diagonal d of H_z: Σ_n d[n, o] x[n, i]² for W, Σ_n d[n, o] for b.
     */
    @Override
    public Backprop.Step backprop(NDArray x) {
        NDArray value = forward(x);
        return new Backprop.Step() {
            @Override
            public NDArray value() {
                return value;
            }

            @Override
            public NDArray back(NDArray columns) {
                return transposed(columns);
            }

            @Override
            public NDArray backDense(NDArray h) {
                return weight.transpose().matMul(h.matMul(weight));
            }

            /** diag(Wᵀ H W) = Σ_o (H W)[o, i] W[o, i]: one product, not two. */
            @Override
            public NDArray backDenseDiagonal(NDArray h) {
                return h.matMul(weight).muli(weight).sum(new int[] {1}); // in place on the fresh product
            }

            @Override
            public java.util.List<NDArray> diagonalFromDiagonal(NDArray d) {
                return fromDiagonal(d);
            }

            @Override
            public java.util.List<NDArray> diagonal(NDArray columns, NDArray signs) {
                NDArray sq = Ops.square(columns);
                if (signs != null) {
                    sq = sq.mul(signs.expandDims(2));
                }
                return fromDiagonal(sq.sum(new int[] {0})); // [N, out]
            }

            @Override
            public java.util.List<NDArray> diagonalDense(NDArray h) {
                long o = h.getShape().get(1);
                // the diagonal as a strided view of the flat matrices, no copy
                return fromDiagonal(h.reshape(h.getShape().get(0), o * o).get(":, ::" + (o + 1)));
            }

            private java.util.List<NDArray> fromDiagonal(NDArray d) {
                NDArray w = d.transpose().matMul(Ops.square(x));
                return bias == null ? java.util.List.of(w) : java.util.List.of(w, d.sum(new int[] {0}));
            }

            @Override
            public java.util.List<NDArray> vjp(NDArray columns) {
                NDArray w = columns.transpose(0, 2, 1).matMul(x); // [c, out, N] x [N, in]
                return bias == null ? java.util.List.of(w) : java.util.List.of(w, columns.sum(new int[] {1}));
            }

            @Override
            public NDArray tangent(NDArray input, java.util.List<NDArray> params) {
                NDArray dw = params.get(0); // [K, out, in]
                NDArray t = x.matMul(dw.transpose(0, 2, 1)); // [K, N, out]
                if (params.size() > 1) {
                    t = t.add(params.get(1).expandDims(1));
                }
                return input == null ? t : t.add(Linear.linear(input, weight).singletonOrThrow());
            }

            @Override
            public NDArray backTangent(NDArray gradient, java.util.List<NDArray> params) {
                return gradient.matMul(params.get(0)); // [N, out] x [K, out, in]
            }

            @Override
            public java.util.List<NDArray> vjpTangent(NDArray gradient, NDArray input) {
                return java.util.List.of(gradient.transpose().matMul(input)); // [out, N] x [K, N, in]; the bias's: none
            }
        };
    }

    @Override
    public boolean flat() {
        return true;
    }

    @Override
    public Shape outputShape(Shape in) {
        if (in.dimension() != 1 || in.get(0) != weight.getShape().get(1)) {
            throw new IllegalArgumentException(
                    "linear layer expects " + weight.getShape().get(1) + " inputs, found " + in);
        }
        return new Shape(weight.getShape().get(0));
    }

    @Override
    public List<Parameter> parameters() {
        return Parameter.weightAndBias(weight, bias);
    }

    @Override
    public Layer withParameters(List<NDArray> arrays) {
        return new Dense(arrays.get(0), bias == null ? null : arrays.get(1));
    }
}
