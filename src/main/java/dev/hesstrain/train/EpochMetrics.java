package dev.hesstrain.train;

/**
 * One row of metrics.csv: figures averaged over the epoch's steps (train loss, penalty, Hessian
 * norms of the training batches) and the validation loss at the epoch's end.
 *
 * <p>With a randomised penalty ({@code penalty.method: hutchinson}), {@code penalty} is the mean
 * of the estimates, and {@code penaltyExact} and the Hessian norms come from an exact pass over the
 * validation set (the training set if that is empty) every {@code penalty.exact_every} epochs;
 * they are NaN on other epochs, and {@code penaltyExact} is NaN throughout with the exact method.
 * The accuracies (classification only, NaN otherwise) are, like the losses, the share of the
 * epoch's training rows the model got right as it stepped on them, and that of the validation rows
 * at the epoch's end. {@code lr} is the learning rate the epoch's steps took (the spec's, times the
 * schedule's factor and any other the loop was given); {@code evaluated} whether
 * the epoch evaluated the validation figures ({@code train.eval_every}, and the last epoch).
 */
public record EpochMetrics(
        int epoch,
        double trainLoss,
        double valLoss,
        double penalty,
        double penaltyExact,
        double loss,
        double hessianFroMean,
        double hessianFroMax,
        double trainAccuracy,
        double valAccuracy,
        double seconds,
        double lr,
        boolean evaluated) {

    public boolean finite() {
        return Double.isFinite(loss) && Double.isFinite(trainLoss) && Double.isFinite(penalty);
    }
}
