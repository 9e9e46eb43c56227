package dev.hesstrain.model;

import ai.djl.ndarray.NDArray;
import ai.djl.ndarray.types.Shape;

/** Flattens every sample to one axis, as torch.nn.Flatten. */
public final class Flatten implements Layer, Sandwich.Layer, Backprop.Layer {
    @Override
    public NDArray forward(NDArray x) {
        return x.reshape(x.getShape().get(0), -1);
    }

    /** [R, N, ...] to [R, N, features]. */
    @Override
    public NDArray forward(NDArray x, java.util.List<NDArray> params) {
        return x.reshape(x.getShape().get(0), x.getShape().get(1), -1);
    }

    @Override
    public Taylor forward(Taylor t, Pairs pairs) {
        NDArray hess = t.hess() == null ? null : Sandwich.flat(t.hess(), 2);
        return new Taylor(forward(t.value()), Sandwich.flat(t.jac(), 2), hess);
    }

    @Override
    public Sandwich.Step curvature(NDArray value, NDArray jac) {
        Shape sample = value.getShape().slice(1);
        return Sandwich.Step.affine(forward(value), jac == null ? null : Sandwich.flat(jac, 2),
                c -> c.reshape(new Shape(c.getShape().get(0), c.getShape().get(1)).addAll(sample)));
    }

    /** On a replica axis: value [R, N, ...], Jacobian [K, R or 1, N or 1, ...], adjoint [O, R or 1, N or 1, features]. */
    @Override
    public Sandwich.Step curvature(NDArray value, NDArray jac, java.util.List<NDArray> params) {
        Shape sample = value.getShape().slice(2);
        return Sandwich.Step.affine(forward(value, params), jac == null ? null : Sandwich.flat(jac, 3),
                c -> c.reshape(c.getShape().slice(0, 3).addAll(sample)));
    }

    /** The curvature pass: a reshape each way. */
    @Override
    public Backprop.Step backprop(NDArray x) {
        Shape sample = x.getShape().slice(1);
        NDArray value = forward(x);
        return new Backprop.Step() {
            @Override
            public NDArray value() {
                return value;
            }

            @Override
            public NDArray back(NDArray columns) {
                return columns.reshape(new Shape(columns.getShape().get(0), columns.getShape().get(1)).addAll(sample));
            }

            @Override
            public NDArray tangent(NDArray input, java.util.List<NDArray> params) {
                return input == null ? null : input.reshape(input.getShape().get(0), input.getShape().get(1), -1);
            }
        };
    }

    @Override
    public Shape outputShape(Shape in) {
        return new Shape(in.size());
    }
}
