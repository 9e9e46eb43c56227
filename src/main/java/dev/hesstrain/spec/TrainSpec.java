package dev.hesstrain.spec;

import com.fasterxml.jackson.annotation.JsonInclude;
import com.fasterxml.jackson.annotation.JsonProperty;
import com.fasterxml.jackson.annotation.JsonPropertyOrder;

/**
 * How to train: optimizer, learning rate, epochs, batch size, checkpoints, how often the
 * validation loss and the Hessian norms are evaluated ({@code eval_every} epochs; absent: the
 * default of {@link #evalEvery(int)}), and the controls: learning-rate schedule, weight decay
 * (AdamW's decoupled decay with adam, L2 added to the gradient with sgd, as {@code
 * torch.optim.AdamW} and {@code torch.optim.SGD} apply it) and early stopping.
 */
@JsonPropertyOrder({"optimizer", "lr", "momentum", "epochs", "batch_size", "checkpoint_every", "eval_every",
        "weight_decay", "schedule", "early_stopping"})
@JsonInclude(JsonInclude.Include.NON_NULL)
public record TrainSpec(
        @JsonProperty("optimizer") OptimizerKind optimizer,
        @JsonProperty("lr") Double lr,
        @JsonProperty("momentum") Double momentum,
        @JsonProperty("epochs") Integer epochs,
        @JsonProperty("batch_size") Integer batchSize,
        @JsonProperty("checkpoint_every") Integer checkpointEvery,
        @JsonProperty("eval_every") Integer evalEvery,
        @JsonProperty("weight_decay") Double weightDecay,
        @JsonProperty("schedule") ScheduleSpec schedule,
        @JsonProperty("early_stopping") EarlyStoppingSpec earlyStopping) {

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
        if (evalEvery != null) {
            Check.positive("eval_every", evalEvery);
        }
        weightDecay = Check.nonNegative("weight_decay", weightDecay == null ? 0.0 : weightDecay);
        schedule = schedule == null ? ScheduleSpec.constant() : schedule;
        // early_stopping stays null when absent: no early stopping
    }

    /** Evaluations cost about one step of the epoch; this keeps them near a tenth of the steps. */
    private static final int STEPS_PER_EVALUATION = 10;

    /**
     * Every how many epochs the validation loss and the Hessian norms are evaluated (the last epoch
     * always is): {@code eval_every} when given, else so that an evaluation comes at most every
     * {@value #STEPS_PER_EVALUATION} steps: every epoch when an epoch has 10 steps or more, every
     * 10 epochs for full-batch training, ⌈10 / steps per epoch⌉ between.
     *
     * @param trainSamples the training rows, which with {@code batch_size} give the steps per epoch
     */
    public int evalEvery(int trainSamples) {
        if (evalEvery != null) {
            return evalEvery;
        }
        int batch = batchSize == null ? Math.max(1, trainSamples) : Math.min(batchSize, Math.max(1, trainSamples));
        int steps = Math.max(1, (trainSamples + batch - 1) / batch);
        return Math.max(1, (STEPS_PER_EVALUATION + steps - 1) / steps);
    }

    public static TrainSpec defaults() {
        return new TrainSpec(null, null, null, null, null, null, null, null, null, null);
    }
}
