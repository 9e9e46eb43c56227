package dev.hesstrain.spec;

import com.fasterxml.jackson.annotation.JsonCreator;
import com.fasterxml.jackson.annotation.JsonValue;

/** How the penalty is computed: exactly every step, or estimated with Hutchinson probes. Written in a spec in lower case. */
public enum PenaltyMethod {
    EXACT,
    HUTCHINSON;

    /** The constant named {@code name} (any case); a {@link SpecException} listing the choices otherwise. */
    @JsonCreator
    public static PenaltyMethod parse(String name) {
        return Choices.parse(values(), name);
    }

    /** The name in a spec, such as {@code hutchinson}. */
    @JsonValue
    public String id() {
        return Choices.id(this);
    }

    @Override
    public String toString() {
        return id();
    }
}
