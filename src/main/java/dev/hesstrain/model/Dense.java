package dev.hesstrain.model;

import ai.djl.ndarray.NDArray;
import ai.djl.ndarray.types.Shape;
import ai.djl.nn.core.Linear;
import java.util.List;

/** y = x Wᵀ + b with W shaped [out, in], as torch.nn.Linear. */
public final class Dense implements Layer, Columns.Layer {
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

    @Override
    public Taylor forward(Taylor t, Pairs pairs) {
        NDArray value = forward(t.value());
        NDArray jac = Linear.linear(t.jac(), weight).singletonOrThrow();
        NDArray hess = t.hess() == null ? null : Linear.linear(t.hess(), weight).singletonOrThrow();
        return new Taylor(value, jac, hess);
    }

    @Override
    public Columns forward(Columns c, Pairs pairs) {
        NDArray value = weight.matMul(c.value());
        if (bias != null) {
            value = value.add(bias.expandDims(1));
        }
        return new Columns(value, times(c.jac()), c.hess() == null ? null : times(c.hess()));
    }

    /** W d for derivatives d [in, K, N]: one product over all directions and samples. */
    private NDArray times(NDArray d) {
        Shape s = d.getShape();
        NDArray y = weight.matMul(d.reshape(s.get(0), -1));
        return y.reshape(weight.getShape().get(0), s.get(1), s.get(2));
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
