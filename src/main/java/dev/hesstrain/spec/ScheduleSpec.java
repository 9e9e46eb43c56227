package dev.hesstrain.spec;

import com.fasterxml.jackson.annotation.JsonInclude;
import com.fasterxml.jackson.annotation.JsonProperty;
import com.fasterxml.jackson.annotation.JsonPropertyOrder;

/**
 * The learning-rate schedule ({@code train.schedule}), stepped once per epoch as PyTorch users
 * step {@code torch.optim.lr_scheduler}: a linear warm-up over {@code warmup_epochs} epochs
 * ({@code LinearLR(start_factor, 1.0, warmup_epochs)}), then the decay of {@code type} counted
 * from the warm-up's end ({@code SequentialLR} with the milestone {@code warmup_epochs}).
 *
 * @param type constant (default), step or cosine
 * @param stepSize step only: epochs per decay (required)
 * @param gamma step only: the decay factor, 0.1 as in {@code StepLR}
 * @param tMax cosine only: the half period in epochs; null means the epochs after the warm-up
 * @param etaMin cosine only: the least learning rate, 0
 * @param warmupEpochs epochs of linear warm-up, 0 (none)
 * @param startFactor with a warm-up: the first epoch's factor, 1/3 as in {@code LinearLR}
 */
@JsonPropertyOrder({"type", "step_size", "gamma", "t_max", "eta_min", "warmup_epochs", "start_factor"})
@JsonInclude(JsonInclude.Include.NON_NULL)
public record ScheduleSpec(
        @JsonProperty("type") ScheduleKind type,
        @JsonProperty("step_size") Integer stepSize,
        @JsonProperty("gamma") Double gamma,
        @JsonProperty("t_max") Integer tMax,
        @JsonProperty("eta_min") Double etaMin,
        @JsonProperty("warmup_epochs") Integer warmupEpochs,
        @JsonProperty("start_factor") Double startFactor) {

    public ScheduleSpec {
        type = type == null ? ScheduleKind.CONSTANT : type;
        if (type == ScheduleKind.STEP) {
            Check.positive("step_size", stepSize);
            gamma = Check.positive("gamma", gamma == null ? 0.1 : gamma);
        } else {
            Check.absent("step_size", stepSize, "with type " + type);
            Check.absent("gamma", gamma, "with type " + type);
        }
        if (type == ScheduleKind.COSINE) {
            if (tMax != null) {
                Check.positive("t_max", tMax);
            }
            etaMin = Check.nonNegative("eta_min", etaMin == null ? 0.0 : etaMin);
        } else {
            Check.absent("t_max", tMax, "with type " + type);
            Check.absent("eta_min", etaMin, "with type " + type);
        }
        warmupEpochs = Check.atLeast("warmup_epochs", warmupEpochs == null ? 0 : warmupEpochs, 0);
        if (warmupEpochs > 0) {
            startFactor = Check.positive("start_factor", startFactor == null ? 1.0 / 3 : startFactor);
            if (startFactor > 1) {
                throw new SpecException("start_factor", "must be at most 1, found " + startFactor);
            }
        } else {
            Check.absent("start_factor", startFactor, "without warmup_epochs");
        }
    }

    /** The constant learning rate, no warm-up. */
    public static ScheduleSpec constant() {
        return new ScheduleSpec(null, null, null, null, null, null, null);
    }
}
