package dev.hesstrain.model;

import ai.djl.ndarray.NDArray;
import ai.djl.ndarray.types.Shape;
import java.util.List;

/**
 * One layer of a {@link Network}: a value forward pass, the same pass on a leading replica axis,
 * and a Taylor-mode forward pass.
 */
public interface Layer {

    /** The value of the layer on a batch [N, ...]. */
    NDArray forward(NDArray x);

    /**
     * The value of R replicas of the layer, each with its own parameters, on a leading replica axis:
     * inputs [R, N, ...], or [1, N, ...] when every replica gets the same input (it broadcasts), to
     * outputs [R, N, ...] ([1, N, ...] from a shared input for a layer without parameters).
     * Elementwise layers and those acting on the last axis need nothing more than {@link
     * #forward(NDArray)}, which is the default for layers without parameters.
     *
     * @param params this layer's parameters in {@link #parameters()} order, each [R, its shape...]
     */
    default NDArray forward(NDArray x, List<NDArray> params) {
        if (!replicable()) {
            throw new UnsupportedOperationException(getClass().getSimpleName() + " has no replicated pass");
        }
        return forward(x);
    }

    /** Whether {@link #forward(NDArray, List)} works: every layer of hesstrain's own, and any without parameters. */
    default boolean replicable() {
        return parameters().isEmpty();
    }

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
