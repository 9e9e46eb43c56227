package dev.hesstrain.spec;

import com.fasterxml.jackson.annotation.JsonCreator;
import com.fasterxml.jackson.annotation.JsonValue;

/**
 * The type of a layer, as in {@code torch.nn.Sequential}: the structural layers, then every
 * {@link ActivationKind} (activations are layers too). Written in a spec in lower case.
 */
public enum LayerType {
    LINEAR(null),
    CONV2D(null),
    FLATTEN(null),
    LOG_SOFTMAX(null),
    TANH(ActivationKind.TANH),
    SIGMOID(ActivationKind.SIGMOID),
    SOFTPLUS(ActivationKind.SOFTPLUS),
    GELU(ActivationKind.GELU),
    SILU(ActivationKind.SILU),
    SIN(ActivationKind.SIN),
    IDENTITY(ActivationKind.IDENTITY),
    RELU(ActivationKind.RELU);

    private final ActivationKind activation;

    LayerType(ActivationKind activation) {
        this.activation = activation;
    }

    /** The elementwise activation this layer applies, or null for a structural layer. */
    public ActivationKind activation() {
        return activation;
    }

    public boolean isActivation() {
        return activation != null;
    }

    /** Whether the layer has parameters (and so a PyTorch index in the state dict). */
    public boolean hasParameters() {
        return this == LINEAR || this == CONV2D;
    }

    /** The constant named {@code name} (any case); a {@link SpecException} listing the choices otherwise. */
    @JsonCreator
    public static LayerType parse(String name) {
        return Choices.parse(values(), name);
    }

    /** The name in a spec, such as {@code log_softmax}. */
    @JsonValue
    public String id() {
        return Choices.id(this);
    }

    @Override
    public String toString() {
        return id();
    }
}
