package dev.hesstrain.model;

import ai.djl.ndarray.NDArray;
import java.util.List;

/**
 * A named parameter, named as PyTorch's {@code named_parameters()} of the equivalent
 * {@code torch.nn.Sequential} ("0.weight", "0.bias", "2.weight", ...).
 */
public record Parameter(String name, NDArray array) {

    /** A layer's "weight" and, unless null, "bias", in PyTorch's order. */
    public static List<Parameter> weightAndBias(NDArray weight, NDArray bias) {
        return bias == null
                ? List.of(new Parameter("weight", weight))
                : List.of(new Parameter("weight", weight), new Parameter("bias", bias));
    }
}
