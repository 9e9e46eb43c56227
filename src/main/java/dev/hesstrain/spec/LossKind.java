package dev.hesstrain.spec;

import com.fasterxml.jackson.annotation.JsonCreator;
import com.fasterxml.jackson.annotation.JsonValue;

/**
 * The data loss: {@code mse} on real targets, {@code cross_entropy} of logits and {@code nll} of
 * log-probabilities on class labels. Written in a spec in lower case.
 */
public enum LossKind {
    MSE,
    CROSS_ENTROPY,
    NLL;

    /** Whether the targets are class labels (cross_entropy, nll) rather than real values (mse). */
    public boolean classification() {
        return this != MSE;
    }

    /** The constant named {@code name} (any case); a {@link SpecException} listing the choices otherwise. */
    @JsonCreator
    public static LossKind parse(String name) {
        return Choices.parse(values(), name);
    }

    /** The name in a spec, such as {@code cross_entropy}. */
    @JsonValue
    public String id() {
        return Choices.id(this);
    }

    @Override
    public String toString() {
        return id();
    }
}
