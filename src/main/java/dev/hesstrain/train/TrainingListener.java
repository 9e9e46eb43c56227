package dev.hesstrain.train;

import java.util.List;

/**
 * What happens around the one training loop ({@link Trainer#run}), each a small class: metrics
 * rows and progress, checkpoint files, memory readings, stop requests; and the hooks for schedules
 * ({@link Trainer.Loop#scaleLearningRate}), early stopping ({@link Trainer.Loop#stopMember}) and
 * monitors (rows through {@link #onEpoch}). The loop calls its listeners in list order; members are
 * numbered from 0 (a plain run is member 0 of one).
 */
public interface TrainingListener {
    /** Before the first step (and before the checkpoint of the initial weights). */
    default void onTrainingBegin(Trainer.Loop loop) {}

    /**
     * After each step of every running member (the update applied); a stop requested here ends the
     * run after this step, even mid-epoch, and a learning-rate factor set here applies from the next.
     */
    default void onStepEnd(Trainer.Loop loop) {}

    /**
     * Member {@code member}'s row of an epoch (also for an epoch cut short by a stop); members that
     * stopped get none. The evaluated figures (validation loss, Hessian norms where the steps do
     * not give them) are NaN on the epochs that {@code train.eval_every} skips.
     */
    default void onEpoch(Trainer.Loop loop, int member, EpochMetrics metrics) {}

    /**
     * The networks of {@code members} now hold their weights of {@code epoch} (finite; epoch 0: the
     * initial weights): write them, with {@link Trainer#writeCheckpoint}. Rows up to this epoch have
     * all been delivered.
     */
    default void onCheckpoint(Trainer.Loop loop, int epoch, List<Integer> members) {}

    /** Member {@code member}'s loss turned NaN or infinite in {@code epoch}; it keeps its weights of {@code lastGood}. */
    default void onDiverged(Trainer.Loop loop, int member, int epoch, int lastGood) {}

    /** After the loop, whatever ended it. */
    default void onTrainingEnd(Trainer.Loop loop) {}
}
