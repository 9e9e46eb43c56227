package dev.hesstrain.spec;

import com.fasterxml.jackson.annotation.JsonCreator;
import com.fasterxml.jackson.annotation.JsonValue;

/** Elementwise activations, smooth ones first. Written in a spec in lower case. */
public enum ActivationKind {
    TANH,
    SIGMOID,
    SOFTPLUS,
    GELU,
    SILU,
    SIN,
    IDENTITY,
    RELU;

    /** Whether it is piecewise linear, so that its second derivative vanishes almost everywhere. */
    public boolean piecewiseLinear() {
        return this == RELU || this == IDENTITY;
    }

    /** The constant named {@code name} (any case); a {@link SpecException} listing the choices otherwise. */
    @JsonCreator
    public static ActivationKind parse(String name) {
        return Choices.parse(values(), name);
    }

    /** The name in a spec, such as {@code tanh}. */
    @JsonValue
    public String id() {
        return Choices.id(this);
    }

    @Override
    public String toString() {
        return id();
    }
}
