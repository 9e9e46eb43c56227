package dev.hesstrain.train;

/**
 * What happens around the training loop, as DJL's {@code TrainingListener}s: metrics writers,
 * checkpoints, divergence handling, memory readings and stop requests. {@link Trainer#run} only
 * runs the loop and calls its listeners in list order; a listener stops the run through
 * {@link Trainer.Loop#stop}.
 */
public interface TrainingListener {
    /** Before the first step. */
    default void onTrainingBegin(Trainer.Loop loop) {}

    /**
     * After a step's backward pass, before the parameters are updated. A listener that stops the
     * run with {@link StopReason#DIVERGED} here keeps the update from being applied.
     */
    default void onBatch(Trainer.Loop loop, StepFigures step) {}

    /** After a step's update; a stop requested here ends the run after this step, even mid-epoch. */
    default void onStepEnd(Trainer.Loop loop, StepFigures step) {}

    /** After an epoch's figures are complete (also for an epoch cut short by a stop). */
    default void onEpoch(Trainer.Loop loop, EpochMetrics metrics) {}

    /** After the loop, whatever ended it. */
    default void onTrainingEnd(Trainer.Loop loop) {}
}
