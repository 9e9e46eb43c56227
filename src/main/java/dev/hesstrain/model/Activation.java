package dev.hesstrain.model;

import ai.djl.ndarray.NDArray;
import ai.djl.ndarray.types.Shape;
import dev.hesstrain.spec.ActivationKind;

/**
 * Elementwise activations with their first and second derivatives, so that a Taylor pass carries
 * exact input derivatives: for y = σ(z), ∂y = σ'(z)∂z and ∂²y = σ''(z) ∂z∂z + σ'(z) ∂²z.
 */
public final class Activation implements Layer, Columns.Layer, Curvature.Layer {
    private static final double SQRT_HALF = Math.sqrt(0.5);
    private static final double INV_SQRT_2PI = 1.0 / Math.sqrt(2 * Math.PI);

    private final ActivationKind kind;
    private final Constants c;

    public Activation(ActivationKind kind, Constants constants) {
        this.kind = kind;
        this.c = constants;
        // made now, so that a step never creates one outside its own manager
        for (double v : new double[] {1, 2, -2, 0.5, -0.5, SQRT_HALF, INV_SQRT_2PI}) {
            constants.of(v);
        }
    }

    @Override
    public NDArray forward(NDArray z) {
        return derivatives(z, false)[0];
    }

    @Override
    public Taylor forward(Taylor t, Pairs pairs) {
        if (kind == ActivationKind.IDENTITY) {
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

    /** On a replica axis the directions sit on axis 2; σ' and σ'' broadcast over the replicas as over the rest. */
    @Override
    public Columns forward(Columns c, Pairs pairs, java.util.List<NDArray> params) {
        return columns(c, pairs, 2);
    }

    private Columns columns(Columns c, Pairs pairs, int axis) {
        if (kind == ActivationKind.IDENTITY) {
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
    public Curvature.Step curvature(NDArray z, NDArray jac) {
        if (kind == ActivationKind.IDENTITY) {
            return Curvature.Step.affine(z, jac, a -> a);
        }
        NDArray[] s = derivatives(z, true);
        NDArray j = jac == null ? null : jac.mul(s[1]);
        return new Curvature.Step() {
            @Override
            public NDArray value() {
                return s[0];
            }

            @Override
            public NDArray jac() {
                return j;
            }

            @Override
            public NDArray back(NDArray adjoint) {
                return adjoint.mul(s[1]);
            }

            @Override
            public Curvature.Term term(NDArray adjoint) {
                return s[2] == null ? null : new Curvature.Term(Curvature.flat(jac), Curvature.flat(adjoint.mul(s[2])));
            }
        };
    }

    /** Whether σ'' is not identically zero, so that the layer adds a term to the input Hessian. */
    public boolean curved() {
        return kind != ActivationKind.IDENTITY && kind != ActivationKind.RELU;
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
        NDArray y;
        NDArray d1 = null;
        NDArray d2 = null;
        switch (kind) {
            case TANH -> {
                y = z.tanh();
                if (withDerivatives) {
                    d1 = c.of(1).sub(Ops.square(y));
                    d2 = y.mul(d1).mul(c.of(-2));
                }
            }
            case SIGMOID -> {
                y = z.getNDArrayInternal().sigmoid();
                if (withDerivatives) {
                    d1 = y.sub(Ops.square(y));
                    d2 = d1.sub(d1.mul(y).mul(c.of(2)));
                }
            }
            case SOFTPLUS -> {
                y = z.getNDArrayInternal().softPlus();
                if (withDerivatives) {
                    NDArray s = z.getNDArrayInternal().sigmoid();
                    d1 = s;
                    d2 = s.sub(Ops.square(s));
                }
            }
            case GELU -> {
                NDArray cdf = z.mul(c.of(SQRT_HALF)).erf().add(c.of(1)).mul(c.of(0.5));
                y = z.mul(cdf);
                if (withDerivatives) {
                    NDArray pdf = Ops.square(z).mul(c.of(-0.5)).exp().mul(c.of(INV_SQRT_2PI));
                    d1 = cdf.add(z.mul(pdf));
                    d2 = pdf.mul(c.of(2).sub(Ops.square(z)));
                }
            }
            case SILU -> {
                NDArray s = z.getNDArrayInternal().sigmoid();
                y = z.mul(s);
                if (withDerivatives) {
                    NDArray ds = s.sub(Ops.square(s));
                    d1 = s.add(z.mul(ds));
                    d2 = ds.mul(z.mul(c.of(1).sub(s.mul(c.of(2)))).add(c.of(2)));
                }
            }
            case SIN -> {
                y = z.sin();
                if (withDerivatives) {
                    d1 = z.cos();
                    d2 = y.neg();
                }
            }
            case RELU -> {
                y = z.getNDArrayInternal().relu();
                if (withDerivatives) {
                    d1 = z.gt(0).toType(z.getDataType(), false);
                }
            }
            case IDENTITY -> {
                y = z;
                if (withDerivatives) {
                    d1 = z.onesLike();
                }
            }
            default -> throw new IllegalStateException(kind.id());
        }
        return new NDArray[] {y, d1, d2};
    }

    @Override
    public Shape outputShape(Shape in) {
        return in;
    }
}
