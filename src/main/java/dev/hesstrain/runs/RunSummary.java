package dev.hesstrain.runs;

import com.fasterxml.jackson.annotation.JsonAnyGetter;
import com.fasterxml.jackson.annotation.JsonAnySetter;
import com.fasterxml.jackson.annotation.JsonInclude;
import com.fasterxml.jackson.annotation.JsonProperty;
import com.fasterxml.jackson.annotation.JsonPropertyOrder;
import java.io.IOException;
import java.nio.file.Path;
import java.util.LinkedHashMap;
import java.util.Map;

/**
 * A training run's {@code summary.json}, written from this record by Jackson and read back into
 * it. The data-loss figures are named after the spec's loss ({@code train_mse}, {@code val_mse},
 * {@code train_cross_entropy}, ...) and live in {@link #lossFigures}; figures that are not defined
 * (a validation loss without validation rows, a NaN) are written as {@code null} and read back as
 * null; accuracies appear for classification runs only, {@code stacked_members} and {@code
 * stacked_ms_per_step} for the members of a stacked sweep group only; {@code sharpness} and {@code
 * hessian_trace} (the last values of the spec's {@code monitor}) sit beside the loss figures ({@link #withFigure}). {@code wall_ms_per_step} is
 * the training loop's wall time divided by its steps (evaluation, rows and checkpoints included:
 * what a user waits), {@code ms_per_step} the median step alone.
 */
@JsonInclude(JsonInclude.Include.NON_NULL)
@JsonPropertyOrder({"name", "penalty", "loss", "hessian_fro_mean", "hessian_fro_max", "train_accuracy", "val_accuracy",
        "epochs_run", "steps", "wall_ms_per_step", "ms_per_step", "stopped", "stop_reason", "checkpoint_epoch", "resumed_after_epoch",
        "parameters", "train_samples", "validation_samples", "stacked_members", "stacked_ms_per_step", "early_stopping",
        "provenance",
        "resident_mb_at_step"})
public record RunSummary(
        @JsonProperty("name") String name,
        @JsonAnySetter Map<String, Double> lossFigures,
        @JsonProperty("penalty") Double penalty,
        @JsonProperty("loss") Double loss,
        @JsonProperty("hessian_fro_mean") Double hessianFroMean,
        @JsonProperty("hessian_fro_max") Double hessianFroMax,
        @JsonProperty("train_accuracy") Double trainAccuracy,
        @JsonProperty("val_accuracy") Double valAccuracy,
        @JsonProperty("epochs_run") int epochsRun,
        @JsonProperty("steps") long steps,
        @JsonProperty("wall_ms_per_step") Double wallMsPerStep,
        @JsonProperty("ms_per_step") Double msPerStep,
        @JsonProperty("stopped") String stopped,
        @JsonProperty("stop_reason") String stopReason,
        @JsonProperty("checkpoint_epoch") int checkpointEpoch,
        @JsonProperty("resumed_after_epoch") Integer resumedAfterEpoch,
        @JsonProperty("parameters") long parameters,
        @JsonProperty("train_samples") int trainSamples,
        @JsonProperty("validation_samples") int validationSamples,
        @JsonProperty("provenance") Provenance provenance,
        @JsonProperty("resident_mb_at_step") Map<String, Double> residentMbAtStep,
        @JsonProperty("stacked_members") Integer stackedMembers,
        @JsonProperty("stacked_ms_per_step") Double stackedMsPerStep,
        @JsonProperty("early_stopping") EarlyStop earlyStopping) {

    /**
     * A run with {@code train.early_stopping}: the loss it watched, and its best epoch and value
     * (the epoch whose weights model.safetensors holds).
     */
    @JsonPropertyOrder({"monitor", "best_epoch", "best_value"})
    public record EarlyStop(
            @JsonProperty("monitor") String monitor,
            @JsonProperty("best_epoch") int bestEpoch,
            @JsonProperty("best_value") Double bestValue) {}

    public RunSummary {
        lossFigures = lossFigures == null ? new LinkedHashMap<>() : new LinkedHashMap<>(lossFigures);
    }

    /** A plain run's summary (not one member of a stacked sweep group). */
    public RunSummary(String name, Map<String, Double> lossFigures, Double penalty, Double loss, Double hessianFroMean,
            Double hessianFroMax, Double trainAccuracy, Double valAccuracy, int epochsRun, long steps, Double wallMsPerStep,
            Double msPerStep, String stopped, String stopReason, int checkpointEpoch, Integer resumedAfterEpoch, long parameters,
            int trainSamples, int validationSamples, Provenance provenance, Map<String, Double> residentMbAtStep) {
        this(name, lossFigures, penalty, loss, hessianFroMean, hessianFroMax, trainAccuracy, valAccuracy, epochsRun, steps,
                wallMsPerStep, msPerStep, stopped, stopReason, checkpointEpoch, resumedAfterEpoch, parameters, trainSamples,
                validationSamples, provenance, residentMbAtStep, null, null, null);
    }

    /**
     * This summary as that of member of a stacked sweep group of {@code members}, whose stacked
     * step took {@code stackedMsPerStep} (median); {@code msPerStep} is then that divided by the
     * members, and {@code wallMsPerStep} the group's wall time per step divided by them (per
     * member-step).
     */
    public RunSummary stacked(int members, double stackedMsPerStep) {
        return new RunSummary(name, lossFigures, penalty, loss, hessianFroMean, hessianFroMax, trainAccuracy, valAccuracy,
                epochsRun, steps, wallMsPerStep == null ? null : wallMsPerStep / members, stackedMsPerStep / members, stopped, stopReason, checkpointEpoch, resumedAfterEpoch,
                parameters, trainSamples, validationSamples, provenance, residentMbAtStep, members, stackedMsPerStep,
                earlyStopping);
    }

    /** This summary with early stopping's record: the monitored loss, its best epoch and value. */
    public RunSummary withEarlyStopping(String monitor, int bestEpoch, double bestValue) {
        return new RunSummary(name, lossFigures, penalty, loss, hessianFroMean, hessianFroMax, trainAccuracy, valAccuracy,
                epochsRun, steps, wallMsPerStep, msPerStep, stopped, stopReason, checkpointEpoch, resumedAfterEpoch,
                parameters, trainSamples, validationSamples, provenance, residentMbAtStep, stackedMembers, stackedMsPerStep,
                new EarlyStop(monitor, bestEpoch, Double.isFinite(bestValue) ? bestValue : null));
    }

    /**
     * This summary with one more top-level figure {@code key} (the monitor's final {@code
     * sharpness}, {@code hessian_trace}); a null value adds nothing.
     */
    public RunSummary withFigure(String key, Double value) {
        if (value == null) {
            return this;
        }
        Map<String, Double> figures = new LinkedHashMap<>(lossFigures);
        figures.put(key, value);
        return new RunSummary(name, figures, penalty, loss, hessianFroMean, hessianFroMax, trainAccuracy, valAccuracy,
                epochsRun, steps, wallMsPerStep, msPerStep, stopped, stopReason, checkpointEpoch, resumedAfterEpoch,
                parameters, trainSamples, validationSamples, provenance, residentMbAtStep, stackedMembers, stackedMsPerStep,
                earlyStopping);
    }

    /** The loss-named figures ({@code train_<loss>}, {@code val_<loss>}), written at the top level. */
    @JsonAnyGetter
    @Override
    public Map<String, Double> lossFigures() {
        return lossFigures;
    }

    /** A loss-named figure, e.g. {@code figure("val_mse")}, or null. */
    public Double figure(String key) {
        return lossFigures.get(key);
    }

    /** Writes the summary atomically. */
    public void write(Path file) throws IOException {
        Json.write(file, this);
    }

    /** Reads a run's summary.json. */
    public static RunSummary read(Path file) throws IOException {
        return Json.read(file, RunSummary.class);
    }
}
