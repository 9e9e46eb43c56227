package dev.hesstrain.spec;

import com.fasterxml.jackson.annotation.JsonCreator;
import com.fasterxml.jackson.annotation.JsonValue;

/** The distribution of the entries of Hutchinson probe vectors. Written in a spec in lower case. */
public enum Distribution {
    RADEMACHER,
    GAUSSIAN;

    /** The constant named {@code name} (any case); a {@link SpecException} listing the choices otherwise. */
    @JsonCreator
    public static Distribution parse(String name) {
        return Choices.parse(values(), name);
    }

    /** The name in a spec, such as {@code rademacher}. */
    @JsonValue
    public String id() {
        return Choices.id(this);
    }

    @Override
    public String toString() {
        return id();
    }
}
