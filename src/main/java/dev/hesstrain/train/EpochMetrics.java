package dev.hesstrain.train;

/**
 * One row of metrics.csv: figures averaged over the epoch's steps (train loss, penalty, Hessian
 * norms of the training batches) and the validation loss at the epoch's end.
 */
public record EpochMetrics(
        int epoch,
        double trainLoss,
        double valLoss,
        double penalty,
        double loss,
        double hessianFroMean,
        double hessianFroMax,
        double seconds) {

    public boolean finite() {
        return Double.isFinite(loss) && Double.isFinite(trainLoss) && Double.isFinite(penalty);
    }
}
