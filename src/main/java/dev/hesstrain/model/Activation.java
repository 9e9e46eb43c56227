package dev.hesstrain.model;

import ai.djl.ndarray.NDArray;
import ai.djl.ndarray.types.Shape;
import dev.hesstrain.spec.ActivationKind;

/**
 * An elementwise activation layer: its {@link Elementwise} function (σ, σ' and σ'' together) in
 * every pass; the Taylor pass carries exact input derivatives: for y = σ(z), ∂y = σ'(z)∂z and
 * ∂²y = σ''(z) ∂z∂z + σ'(z) ∂²z.
 */
public final class Activation implements Layer, Columns.Layer, Sandwich.Layer, Backprop.Layer {
    private final Elementwise fn;
    private final Constants c;

    public Activation(ActivationKind kind, Constants constants) {
        this.fn = Elementwise.of(kind);
        this.c = constants;
        // made now, so that a step never creates one outside its own manager
        for (double v : Elementwise.CONSTANTS) {
            constants.of(v);
        }
    }

    /** σ, σ' and σ'' of this activation. */
    public Elementwise function() {
        return fn;
    }

    @Override
    public NDArray forward(NDArray z) {
        return derivatives(z, false)[0];
    }

    @Override
    public Taylor forward(Taylor t, Pairs pairs) {
        if (fn == Elementwise.IDENTITY) {
            return t;
        }
        NDArray[] s = derivatives(t.value(), true);
        NDArray[] d = chain(t.jac(), t.hess(), s[1], s[2], pairs, 0);
        return new Taylor(s[0], d[0], d[1]);
    }

    @Override
    public Columns forward(Columns c, Pairs pairs) {
        return columns(c, pairs, 1);
    }

    /**
     * On a replica axis the directions sit on axis 2; σ' and σ'' broadcast over the replicas as over
     * the rest. The pairs' term is (σ''·jac) ⊗ jac: σ'' scales the K directions before the product
     * instead of the P pairs after it, which saves one pairs-sized product forward and two in the
     * backward pass (the stacked trainer's arrays are R times those of one network, so its step
     * costs their size, not their number).
     */
    @Override
    public Columns forward(Columns c, Pairs pairs, java.util.List<NDArray> params) {
        if (fn == Elementwise.IDENTITY) {
            return c;
        }
        NDArray[] s = derivatives(c.value(), true);
        NDArray d1 = s[1].expandDims(2);
        NDArray j = c.jac().mul(d1);
        NDArray h = c.hess() == null ? null : c.hess().mul(d1);
        if (s[2] != null) {
            NDArray curv = pairs.outer(c.jac().mul(s[2].expandDims(2)), c.jac(), 2);
            h = h == null ? curv : h.add(curv);
        }
        return new Columns(s[0], j, h);
    }

    private Columns columns(Columns c, Pairs pairs, int axis) {
        if (fn == Elementwise.IDENTITY) {
            return c;
        }
        NDArray[] s = derivatives(c.value(), true);
        NDArray[] d = chain(c.jac(), c.hess(), s[1].expandDims(axis), s[2] == null ? null : s[2].expandDims(axis), pairs,
                axis);
        return new Columns(s[0], d[0], d[1]);
    }

    /**
     * The closed-form pass: σ(z) and σ'(z)·J forward; the adjoint c ⊙ σ'(z) backward; and the
     * curvature term with the Jacobian rows of z weighted by c ⊙ σ''(z) (none where σ'' is zero:
     * identity, relu).
     */
    @Override
    public Sandwich.Step curvature(NDArray z, NDArray jac) {
        return curvature(z, jac, 2);
    }

    /** On a replica axis σ'(z) [R, N, ...] broadcasts over the Jacobian [K, R or 1, N or 1, ...] as it is. */
    @Override
    public Sandwich.Step curvature(NDArray z, NDArray jac, java.util.List<NDArray> params) {
        return curvature(z, jac, 3);
    }

    /**
     * Feature-major (value [F, N], Jacobian [F, K, N or 1], adjoints [F, O, N or 1] or [F, N or
     * 1]): σ'(z) [F, 1, N] broadcasts over the directions and the outputs; the term keeps this
     * layout (rows [F, K, N or 1], weights [F, O, N] or [F, N]: {@link Sandwich.Term#featureMajor}).
     * The same step serves the replica axis ({@link Columns.Layer#curvatureColumns(NDArray, NDArray,
     * java.util.List)}), each array with a leading R (or 1): σ' [R, F, N] as [R, F, 1, N].
     */
    @Override
    public Sandwich.Step curvatureColumns(NDArray z, NDArray jac) {
        return curvature(z, jac, 0);
    }

    /**
     * The step with {@code lead} axes before a sample's features in the Jacobian (2: K, N; 3: K, R,
     * N), or feature-major ({@code lead} 0).
     */
    private Sandwich.Step curvature(NDArray z, NDArray jac, int lead) {
        if (fn == Elementwise.IDENTITY) {
            return Sandwich.Step.affine(z, jac, a -> a);
        }
        NDArray[] s = derivatives(z, true);
        return new Sandwich.Step() {
            private NDArray j;
            private NDArray d1; // feature-major σ' as [F, 1, N]

            @Override
            public NDArray value() {
                return s[0];
            }

            /** σ'(z)·J, made only when a layer above asks (not above the highest curvature term). */
            @Override
            public NDArray jac() {
                if (j == null && jac != null) {
                    j = jac.mul(firstFor(jac));
                }
                return j;
            }

            @Override
            public NDArray back(NDArray adjoint) {
                return adjoint.mul(firstFor(adjoint));
            }

            @Override
            public Sandwich.Term term(NDArray adjoint) {
                if (s[2] == null) {
                    return null;
                }
                if (lead == 0) {
                    return new Sandwich.Term(jac, adjoint.mul(byDirection(s[2], adjoint)), true);
                }
                return new Sandwich.Term(Sandwich.flat(jac, lead), Sandwich.flat(adjoint.mul(s[2]), lead));
            }

            /** σ' shaped to multiply {@code a}: a feature-major [F, K or O, N] array takes it as [F, 1, N]. */
            private NDArray firstFor(NDArray a) {
                if (lead != 0 || a.getShape().dimension() == s[1].getShape().dimension()) {
                    return s[1];
                }
                if (d1 == null) {
                    d1 = byDirection(s[1], a);
                }
                return d1;
            }
        };
    }

    /**
     * A feature-major derivative [.., F, N] shaped to multiply {@code a}: as it is when {@code a} has
     * as many axes ([.., F, N or 1]: one output combination), else with an axis for the directions
     * or outputs before the samples' ([.., F, 1, N] against [.., F, K or O, N or 1]).
     */
    private static NDArray byDirection(NDArray derivative, NDArray a) {
        int dims = derivative.getShape().dimension();
        return a.getShape().dimension() == dims ? derivative : derivative.expandDims(dims - 1);
    }

    /**
     * The curvature pass on z [N, ...]: Jᵀ c = σ'(z) ⊙ c; densely diag(σ') H diag(σ'); the residual
     * diag(σ''(z) ⊙ g) (none where σ'' vanishes); the tangent σ'(z) ⊙ dz.
     */
    @Override
    public Backprop.Step backprop(NDArray z) {
        NDArray[] s = derivatives(z, true);
        return new Backprop.Step() {
            @Override
            public NDArray value() {
                return s[0];
            }

            @Override
            public NDArray back(NDArray columns) {
                return fn == Elementwise.IDENTITY ? columns : columns.mul(s[1]);
            }

            @Override
            public NDArray backDense(NDArray h) {
                if (fn == Elementwise.IDENTITY) {
                    return h;
                }
                return h.mul(s[1].expandDims(2)).muli(s[1].expandDims(1)); // in place on the fresh product
            }

            @Override
            public NDArray residual(NDArray gradient) {
                return s[2] == null ? null : gradient.mul(s[2]);
            }

            @Override
            public NDArray backDiagonal(NDArray d) {
                return fn == Elementwise.IDENTITY ? d : d.mul(s[1]).muli(s[1]);
            }

            @Override
            public NDArray tangent(NDArray input, java.util.List<NDArray> params) {
                return input == null || fn == Elementwise.IDENTITY ? input : input.mul(s[1]);
            }
        };
    }

    /** Elementwise: flat exactly when its input is, which the pass checks on the neighbours. */
    @Override
    public boolean flat() {
        return true;
    }

    /** Whether σ'' is not identically zero, so that the layer adds a term to the input Hessian. */
    public boolean curved() {
        return fn.curved();
    }

    /**
     * The chain rule for derivatives with directions on {@code axis}: σ'·jac and σ'·hess +
     * σ''·(jac ⊗ jac), with σ' and σ'' shaped to broadcast over the directions.
     */
    private static NDArray[] chain(NDArray jac, NDArray hess, NDArray d1, NDArray d2, Pairs pairs, int axis) {
        NDArray j = jac.mul(d1);
        NDArray h = hess == null ? null : hess.mul(d1);
        if (d2 != null) {
            NDArray curv = pairs.outer(jac, axis).mul(d2);
            h = h == null ? curv : h.add(curv);
        }
        return new NDArray[] {j, h};
    }

    /** σ(z), σ'(z) and σ''(z) (the latter null where identically zero); derivatives only if asked. */
    NDArray[] derivatives(NDArray z, boolean withDerivatives) {
        return fn.apply(z, c, withDerivatives);
    }

    @Override
    public Shape outputShape(Shape in) {
        return in;
    }
}
