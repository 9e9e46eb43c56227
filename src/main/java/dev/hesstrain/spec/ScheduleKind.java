package dev.hesstrain.spec;

import com.fasterxml.jackson.annotation.JsonCreator;
import com.fasterxml.jackson.annotation.JsonValue;

/**
 * The learning-rate schedule after any warm-up ({@code train.schedule.type}), as {@code
 * torch.optim.lr_scheduler} defines them. Written in a spec in lower case.
 */
public enum ScheduleKind {
    /** The learning rate as given. */
    CONSTANT,
    /** {@code StepLR}: lr · γ^⌊k / step_size⌋. */
    STEP,
    /** {@code CosineAnnealingLR}'s closed form: η_min + (lr − η_min)(1 + cos(π k / T_max)) / 2. */
    COSINE;

    /** The constant named {@code name} (any case); a {@link SpecException} listing the choices otherwise. */
    @JsonCreator
    public static ScheduleKind parse(String name) {
        return Choices.parse(values(), name);
    }

    /** The name in a spec, such as {@code cosine}. */
    @JsonValue
    public String id() {
        return Choices.id(this);
    }

    @Override
    public String toString() {
        return id();
    }
}
