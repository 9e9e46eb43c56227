package dev.hesstrain.spec;

import com.fasterxml.jackson.annotation.JsonCreator;
import com.fasterxml.jackson.annotation.JsonValue;

/** The floating-point type of the model and its data. Written in a spec in lower case. */
public enum DType {
    FLOAT32,
    FLOAT64;

    /** The constant named {@code name} (any case); a {@link SpecException} listing the choices otherwise. */
    @JsonCreator
    public static DType parse(String name) {
        return Choices.parse(values(), name);
    }

    /** The name in a spec, such as {@code float64}. */
    @JsonValue
    public String id() {
        return Choices.id(this);
    }

    @Override
    public String toString() {
        return id();
    }
}
