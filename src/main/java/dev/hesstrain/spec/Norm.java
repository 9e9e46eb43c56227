package dev.hesstrain.spec;

import com.fasterxml.jackson.annotation.JsonCreator;
import com.fasterxml.jackson.annotation.JsonValue;

/**
 * Norms of the input Hessian H of one output at one sample, used as penalties ({@code
 * penalty.norm}). Written in a spec in lower case.
 */
public enum Norm {
    /** Σⱼₖ Hⱼₖ². */
    FROBENIUS,
    /** (Σⱼ Hⱼⱼ)², the squared Laplacian. */
    TRACE,
    /** Σⱼ Hⱼⱼ². */
    DIAGONAL,
    /** Σⱼ≠ₖ Hⱼₖ². */
    OFFDIAGONAL;

    /** The constant named {@code name} (any case); a {@link SpecException} listing the choices otherwise. */
    @JsonCreator
    public static Norm parse(String name) {
        return Choices.parse(values(), name);
    }

    /** The name in a spec, such as {@code offdiagonal}. */
    @JsonValue
    public String id() {
        return Choices.id(this);
    }

    @Override
    public String toString() {
        return id();
    }
}
