package dev.hesstrain.spec;

import com.fasterxml.jackson.annotation.JsonInclude;
import com.fasterxml.jackson.annotation.JsonProperty;
import com.fasterxml.jackson.annotation.JsonPropertyOrder;
import java.util.ArrayList;
import java.util.List;

/**
 * The network: a list of layers applied in order. {@code input_shape} gives the shape of one
 * sample where it is not flat, for example {@code [1, 12, 12]} for conv2d layers.
 */
@JsonPropertyOrder({"input_shape", "layers"})
@JsonInclude(JsonInclude.Include.NON_NULL)
public record ModelSpec(
        @JsonProperty("input_shape") List<Integer> inputShape,
        @JsonProperty("layers") List<LayerSpec> layers) {

    public ModelSpec {
        Check.required("layers", layers);
        if (layers.isEmpty()) {
            throw new SpecException("layers", "must list at least one layer");
        }
        for (int i = 0; i < layers.size(); i++) {
            if (layers.get(i) == null) {
                throw new SpecException("layers[" + i + "]", "is empty");
            }
        }
        layers = List.copyOf(layers);
        if (inputShape != null) {
            if (inputShape.isEmpty() || inputShape.size() > 3) {
                throw new SpecException("input_shape", "must have 1 to 3 dimensions, found " + inputShape.size());
            }
            for (Integer n : inputShape) {
                if (n == null || n <= 0) {
                    throw new SpecException("input_shape", "dimensions must be positive, found " + inputShape);
                }
            }
            inputShape = List.copyOf(inputShape);
        }
        boolean conv = layers.stream().anyMatch(l -> l.type() == LayerType.CONV2D);
        if (conv && (inputShape == null || inputShape.size() != 3)) {
            throw new SpecException("input_shape", "conv2d layers need input_shape: [channels, height, width]");
        }
        if (!layers.stream().anyMatch(LayerSpec::hasParameters)) {
            throw new SpecException("layers", "need at least one linear or conv2d layer");
        }
    }

    /** The number of input features of one flattened sample, if input_shape is given. */
    @com.fasterxml.jackson.annotation.JsonIgnore
    public Integer flatInputs() {
        if (inputShape == null) {
            return null;
        }
        int n = 1;
        for (int d : inputShape) {
            n *= d;
        }
        return n;
    }

    /** Activation layers that are piecewise linear, whose second derivatives vanish almost everywhere. */
    @com.fasterxml.jackson.annotation.JsonIgnore
    public List<Integer> piecewiseLinearLayers() {
        List<Integer> idx = new ArrayList<>();
        for (int i = 0; i < layers.size(); i++) {
            if (layers.get(i).type() == LayerType.RELU) {
                idx.add(i);
            }
        }
        return idx;
    }
}
