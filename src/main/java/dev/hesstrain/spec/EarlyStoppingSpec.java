package dev.hesstrain.spec;

import com.fasterxml.jackson.annotation.JsonInclude;
import com.fasterxml.jackson.annotation.JsonProperty;
import com.fasterxml.jackson.annotation.JsonPropertyOrder;

/**
 * Early stopping ({@code train.early_stopping}) on the validation loss, or the training loss
 * without a validation set, with PyTorch Lightning's {@code EarlyStopping(mode="min")} rule: an
 * epoch improves when its value is below the best so far minus {@code min_delta}; the run stops
 * after {@code patience} epochs in a row without improvement and keeps the best epoch's weights.
 *
 * @param patience epochs without improvement before stopping, 3 (Lightning's default)
 * @param minDelta the least decrease that counts as an improvement, 0
 */
@JsonPropertyOrder({"patience", "min_delta"})
@JsonInclude(JsonInclude.Include.NON_NULL)
public record EarlyStoppingSpec(
        @JsonProperty("patience") Integer patience,
        @JsonProperty("min_delta") Double minDelta) {

    public EarlyStoppingSpec {
        patience = Check.positive("patience", patience == null ? 3 : patience);
        minDelta = Check.nonNegative("min_delta", minDelta == null ? 0.0 : minDelta);
    }
}
