package dev.hesstrain.model;

import ai.djl.ndarray.NDArray;
import ai.djl.ndarray.types.Shape;
import ai.djl.nn.core.Linear;
import java.util.List;

/** y = x Wᵀ + b with W shaped [out, in], as torch.nn.Linear. */
public final class Dense implements Layer {
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
}
