package dev.hesstrain.train;

/**
 * One row of metrics.csv: figures averaged over the epoch's steps (train loss, penalty, Hessian
 * norms of the training batches) and the validation loss at the epoch's end.
 *
 * <p>With a randomised penalty ({@code penalty.method: hutchinson}), {@code penalty} is the mean
 * of the estimates, and {@code penaltyExact} and the Hessian norms come from an exact pass over the
 * validation set (the training set if that is empty) every {@code penalty.exact_every} epochs;
 * they are NaN on other epochs, and {@code penaltyExact} is NaN throughout with the exact method.
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
        double seconds) {

    /** A row without an exact check of the penalty. */
    public EpochMetrics(int epoch, double trainLoss, double valLoss, double penalty, double loss,
            double hessianFroMean, double hessianFroMax, double seconds) {
        this(epoch, trainLoss, valLoss, penalty, Double.NaN, loss, hessianFroMean, hessianFroMax, seconds);
    }

    public boolean finite() {
        return Double.isFinite(loss) && Double.isFinite(trainLoss) && Double.isFinite(penalty);
    }
}
