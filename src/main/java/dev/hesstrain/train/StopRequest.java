package dev.hesstrain.train;

import java.util.function.Supplier;

/**
 * A stop asked for from outside (a signal) as a listener: polled after every step, it ends the run
 * after that step, even mid-epoch, as {@link StopReason#INTERRUPTED} with what asked for it.
 */
public final class StopRequest implements TrainingListener {
    private final Supplier<String> requestedBy;

    /** @param requestedBy null while no stop is asked for, then what asked (e.g. {@code SIGTERM}) */
    public StopRequest(Supplier<String> requestedBy) {
        this.requestedBy = requestedBy;
    }

    @Override
    public void onStepEnd(Trainer.Loop loop) {
        String by = requestedBy.get();
        if (by != null && !loop.stopping()) {
            loop.stop(StopReason.INTERRUPTED, StopReason.INTERRUPTED.description() + " (" + by + ")");
        }
    }
}
