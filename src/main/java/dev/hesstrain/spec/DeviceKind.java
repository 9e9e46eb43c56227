package dev.hesstrain.spec;

import com.fasterxml.jackson.annotation.JsonCreator;
import com.fasterxml.jackson.annotation.JsonValue;

/** Where the model runs: {@code auto} picks a GPU when there is one. Written in a spec in lower case. */
public enum DeviceKind {
    AUTO,
    CPU,
    GPU;

    /** The constant named {@code name} (any case); a {@link SpecException} listing the choices otherwise. */
    @JsonCreator
    public static DeviceKind parse(String name) {
        return Choices.parse(values(), name);
    }

    /** The name in a spec, such as {@code auto}. */
    @JsonValue
    public String id() {
        return Choices.id(this);
    }

    @Override
    public String toString() {
        return id();
    }
}
