package dev.hesstrain.spec;

import com.fasterxml.jackson.annotation.JsonInclude;
import com.fasterxml.jackson.annotation.JsonProperty;
import com.fasterxml.jackson.annotation.JsonPropertyOrder;

/** How to train: optimizer, learning rate, epochs, batch size, checkpoints. */
@JsonPropertyOrder({"optimizer", "lr", "momentum", "epochs", "batch_size", "checkpoint_every"})
@JsonInclude(JsonInclude.Include.NON_NULL)
public record TrainSpec(
        @JsonProperty("optimizer") OptimizerKind optimizer,
        @JsonProperty("lr") Double lr,
        @JsonProperty("momentum") Double momentum,
        @JsonProperty("epochs") Integer epochs,
        @JsonProperty("batch_size") Integer batchSize,
        @JsonProperty("checkpoint_every") Integer checkpointEvery) {

    public TrainSpec {
        optimizer = optimizer == null ? OptimizerKind.ADAM : optimizer;
        lr = Check.positive("lr", lr == null ? 1e-3 : lr);
        if (optimizer == OptimizerKind.SGD) {
            momentum = Check.nonNegative("momentum", momentum == null ? 0.9 : momentum);
            if (momentum >= 1) {
                throw new SpecException("momentum", "must be below 1, found " + momentum);
            }
        } else {
            Check.absent("momentum", momentum, "with optimizer adam");
        }
        epochs = Check.positive("epochs", epochs == null ? 100 : epochs);
        if (batchSize != null) {
            Check.positive("batch_size", batchSize);
        }
        checkpointEvery = Check.positive("checkpoint_every", checkpointEvery == null ? 10 : checkpointEvery);
    }

    public static TrainSpec defaults() {
        return new TrainSpec(null, null, null, null, null, null);
    }
}
