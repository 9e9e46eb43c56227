package dev.hesstrain.train;

import java.util.function.IntSupplier;
import org.apache.logging.log4j.LogManager;
import org.apache.logging.log4j.Logger;

/** Divergence handling as a listener: a step whose loss is NaN or infinite stops the run before its update. */
public final class Divergence implements TrainingListener {
    private static final Logger LOG = LogManager.getLogger(Divergence.class);
    private final IntSupplier keptEpoch;

    /** @param keptEpoch the epoch of the checkpoint that will be kept, for the message */
    public Divergence(IntSupplier keptEpoch) {
        this.keptEpoch = keptEpoch;
    }

    @Override
    public void onBatch(Trainer.Loop loop, StepFigures step) {
        if (!Double.isFinite(step.loss())) {
            LOG.warn("epoch {}: the loss is {}; stopping and keeping the checkpoint of epoch {}", loop.epoch(),
                    step.loss(), keptEpoch.getAsInt());
            loop.stop(StopReason.DIVERGED, StopReason.DIVERGED.description());
        }
    }
}
