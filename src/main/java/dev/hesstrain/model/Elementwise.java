package dev.hesstrain.model;

import ai.djl.ndarray.NDArray;
import dev.hesstrain.spec.ActivationKind;

/**
 * The elementwise activation functions, each with σ, σ' and σ'' in one place (as BackPACK keeps a
 * module's {@code df} and {@code d2f} together, {@code core/derivatives/tanh.py}). One constant
 * per activation kind of the spec, of the same name ({@link #of}). Constants come from the
 * network's {@link Constants}, never Java numbers, so that the results can be differentiated.
 */
public enum Elementwise {
    TANH {
        @Override
        NDArray[] apply(NDArray z, Constants c, boolean derivatives) {
            NDArray y = z.tanh();
            if (!derivatives) {
                return new NDArray[] {y, null, null};
            }
            NDArray d1 = c.of(1).sub(Ops.square(y)); // 1 − σ²
            return new NDArray[] {y, d1, y.mul(d1).mul(c.of(-2))}; // −2σσ'
        }
    },
    SIGMOID {
        @Override
        NDArray[] apply(NDArray z, Constants c, boolean derivatives) {
            NDArray y = z.getNDArrayInternal().sigmoid();
            if (!derivatives) {
                return new NDArray[] {y, null, null};
            }
            NDArray d1 = y.sub(Ops.square(y)); // σ(1 − σ)
            return new NDArray[] {y, d1, d1.sub(d1.mul(y).mul(c.of(2)))}; // σ'(1 − 2σ)
        }
    },
    SOFTPLUS {
        @Override
        NDArray[] apply(NDArray z, Constants c, boolean derivatives) {
            NDArray y = z.getNDArrayInternal().softPlus();
            if (!derivatives) {
                return new NDArray[] {y, null, null};
            }
            NDArray s = z.getNDArrayInternal().sigmoid(); // σ' = sigmoid
            return new NDArray[] {y, s, s.sub(Ops.square(s))}; // σ'' = sigmoid'
        }
    },
    /** The exact GELU, z·Φ(z), with Φ from erf. */
    GELU {
        @Override
        NDArray[] apply(NDArray z, Constants c, boolean derivatives) {
            NDArray cdf = z.mul(c.of(SQRT_HALF)).erf().add(c.of(1)).mul(c.of(0.5));
            NDArray y = z.mul(cdf);
            if (!derivatives) {
                return new NDArray[] {y, null, null};
            }
            NDArray pdf = Ops.square(z).mul(c.of(-0.5)).exp().mul(c.of(INV_SQRT_2PI));
            return new NDArray[] {y, cdf.add(z.mul(pdf)), pdf.mul(c.of(2).sub(Ops.square(z)))}; // Φ + zφ, φ(2 − z²)
        }
    },
    SILU {
        @Override
        NDArray[] apply(NDArray z, Constants c, boolean derivatives) {
            NDArray s = z.getNDArrayInternal().sigmoid();
            NDArray y = z.mul(s);
            if (!derivatives) {
                return new NDArray[] {y, null, null};
            }
            NDArray ds = s.sub(Ops.square(s));
            // s + z s', s'(z(1 − 2s) + 2)
            return new NDArray[] {y, s.add(z.mul(ds)), ds.mul(z.mul(c.of(1).sub(s.mul(c.of(2)))).add(c.of(2)))};
        }
    },
    SIN {
        @Override
        NDArray[] apply(NDArray z, Constants c, boolean derivatives) {
            NDArray y = z.sin();
            return derivatives ? new NDArray[] {y, z.cos(), y.neg()} : new NDArray[] {y, null, null};
        }
    },
    IDENTITY {
        @Override
        NDArray[] apply(NDArray z, Constants c, boolean derivatives) {
            return new NDArray[] {z, derivatives ? z.onesLike() : null, null};
        }
    },
    RELU {
        @Override
        NDArray[] apply(NDArray z, Constants c, boolean derivatives) {
            NDArray y = z.getNDArrayInternal().relu();
            return new NDArray[] {y, derivatives ? z.gt(0).toType(z.getDataType(), false) : null, null};
        }
    };

    private static final double SQRT_HALF = Math.sqrt(0.5);
    private static final double INV_SQRT_2PI = 1.0 / Math.sqrt(2 * Math.PI);

    /** The constants {@link #apply} uses, made once by the network (a step never creates one). */
    static final double[] CONSTANTS = {1, 2, -2, 0.5, -0.5, SQRT_HALF, INV_SQRT_2PI};

    /**
     * σ(z), and with {@code derivatives} σ'(z) and σ''(z), elementwise on any shape; σ'' is null
     * where identically zero (identity, relu), and both derivatives are null without {@code
     * derivatives}.
     */
    abstract NDArray[] apply(NDArray z, Constants c, boolean derivatives);

    /** Whether σ'' is not identically zero, so that the activation adds a term to the input Hessian. */
    public boolean curved() {
        return this != IDENTITY && this != RELU;
    }

    /** The implementation of the spec's activation kind (the constant of the same name). */
    public static Elementwise of(ActivationKind kind) {
        return valueOf(kind.name());
    }
}
