package dev.hesstrain.train;

/** Why a training run stopped. */
public enum StopReason {
    COMPLETED("completed", "all epochs ran"),
    INTERRUPTED("interrupted", "interrupted by a signal"),
    DIVERGED("diverged", "the loss became NaN or infinite"),
    EARLY_STOPPED("early_stopped", "the monitored loss stopped improving");

    private final String id;
    private final String description;

    StopReason(String id, String description) {
        this.id = id;
        this.description = description;
    }

    public String id() {
        return id;
    }

    public String description() {
        return description;
    }
}
