package dev.hesstrain.train;

import dev.hesstrain.spec.EarlyStoppingSpec;

/**
 * Early stopping of one run (or one stacked member) with PyTorch Lightning's {@code
 * EarlyStopping(mode="min", patience, min_delta)} rule: an epoch's value improves when it is below
 * the best so far minus {@code min_delta}; then it becomes the best and the count of epochs
 * without improvement restarts, otherwise the count grows, and the run stops when it reaches
 * {@code patience}. A value that is not finite never improves.
 */
public final class EarlyStopping {
    private final int patience;
    private final double minDelta;
    private double best = Double.POSITIVE_INFINITY;
    private int bestEpoch;
    private int wait;

    public EarlyStopping(EarlyStoppingSpec spec) {
        this(spec.patience(), spec.minDelta());
    }

    public EarlyStopping(int patience, double minDelta) {
        if (patience < 1 || !(minDelta >= 0)) {
            throw new IllegalArgumentException("patience " + patience + ", min_delta " + minDelta);
        }
        this.patience = patience;
        this.minDelta = minDelta;
    }

    /**
     * Records epoch {@code epoch}'s monitored value.
     *
     * @return whether it improved on the best (the caller keeps this epoch's weights)
     */
    public boolean observe(int epoch, double value) {
        if (Double.isFinite(value) && value < best - minDelta) {
            best = value;
            bestEpoch = epoch;
            wait = 0;
            return true;
        }
        wait++;
        return false;
    }

    /** Whether the run should stop: {@code patience} epochs in a row without improvement. */
    public boolean shouldStop() {
        return wait >= patience;
    }

    /** The best value so far (infinite before the first finite one). */
    public double best() {
        return best;
    }

    /** The epoch of the best value, 0 before any. */
    public int bestEpoch() {
        return bestEpoch;
    }

    /** Epochs since the last improvement. */
    public int waited() {
        return wait;
    }

    /**
     * Continues from a checkpoint's record (a resumed run): the best value and epoch, and the
     * epochs waited since.
     */
    public void restore(double best, int bestEpoch, int waited) {
        this.best = best;
        this.bestEpoch = bestEpoch;
        this.wait = waited;
    }
}
