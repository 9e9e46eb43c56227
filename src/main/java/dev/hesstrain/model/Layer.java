package dev.hesstrain.model;

import ai.djl.ndarray.NDArray;
import ai.djl.ndarray.types.Shape;
import java.util.List;

/** One layer of a {@link Network}: a value forward pass and a Taylor-mode forward pass. */
public interface Layer {

    /** The value of the layer on a batch [N, ...]. */
    NDArray forward(NDArray x);

    /** Value, first and second input derivatives of the layer's output. */
    Taylor forward(Taylor t, Pairs pairs);

    /** The shape of one output sample, given the shape of one input sample. */
    Shape outputShape(Shape in);

    /** The layer's parameters in PyTorch order (weight, then bias), each named by its suffix. */
    default List<Parameter> parameters() {
        return List.of();
    }

    /** The same layer with other arrays (same shapes, in {@link #parameters()} order) as parameters. */
    default Layer withParameters(List<NDArray> arrays) {
        return this;
    }
}
