package dev.hesstrain.spec;

import com.fasterxml.jackson.annotation.JsonCreator;
import com.fasterxml.jackson.annotation.JsonValue;

/** The optimizer, with PyTorch's update rules. Written in a spec in lower case. */
public enum OptimizerKind {
    ADAM,
    SGD;

    /** The constant named {@code name} (any case); a {@link SpecException} listing the choices otherwise. */
    @JsonCreator
    public static OptimizerKind parse(String name) {
        return Choices.parse(values(), name);
    }

    /** The name in a spec, such as {@code adam}. */
    @JsonValue
    public String id() {
        return Choices.id(this);
    }

    @Override
    public String toString() {
        return id();
    }
}
