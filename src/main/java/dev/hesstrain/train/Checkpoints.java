package dev.hesstrain.train;

import ai.djl.ndarray.NDManager;
import dev.hesstrain.model.Network;
import dev.hesstrain.model.Parameter;
import dev.hesstrain.model.Weights;
import java.io.IOException;
import java.io.UncheckedIOException;
import java.util.Map;
import org.apache.logging.log4j.LogManager;
import org.apache.logging.log4j.Logger;

/**
 * Checkpoint scheduling as a listener: the initial weights, every {@code train.checkpoint_every}
 * epochs but at most once per {@code minSeconds}, and always the last epoch (the end of the run, or
 * the epoch a stop cut short). Only finite weights are saved. After a divergence the weights of the
 * last good checkpoint are restored into the network, so that what follows (summary, files) sees
 * them.
 */
public final class Checkpoints implements TrainingListener {
    private static final Logger LOG = LogManager.getLogger(Checkpoints.class);

    /** Writes a checkpoint of the current weights at an epoch. */
    @FunctionalInterface
    public interface Saver {
        void save(int epoch) throws IOException;
    }

    private final Network network;
    private final int every;
    private final long minNanos;
    private final Saver saver;
    private int lastGood = -1;
    private long lastTime;
    private Map<String, double[]> snapshot;

    /**
     * @param every epochs between checkpoints
     * @param minSeconds the least time between two checkpoints but the last (0: every due one)
     */
    public Checkpoints(Network network, int every, double minSeconds, Saver saver) {
        this.network = network;
        this.every = every;
        this.minNanos = (long) (minSeconds * 1e9);
        this.saver = saver;
    }

    /** Continues after a checkpoint that already exists (a resumed run). */
    public Checkpoints resumedAt(int epoch) {
        this.lastGood = epoch;
        this.snapshot = snapshot();
        this.lastTime = System.nanoTime();
        return this;
    }

    /** The epoch of the last checkpoint written (0: the initial weights; -1: none). */
    public int lastGood() {
        return lastGood;
    }

    @Override
    public void onTrainingBegin(Trainer.Loop loop) {
        if (lastGood < 0) {
            save(0); // the initial weights: a run that diverges at once still keeps a checkpoint
        }
    }

    @Override
    public void onEpoch(Trainer.Loop loop, EpochMetrics m) {
        boolean last = m.epoch() == loop.epochs() || loop.stopping();
        boolean due = m.epoch() % every == 0 && System.nanoTime() - lastTime >= minNanos;
        if ((due || last) && finiteParameters()) {
            save(m.epoch());
        }
    }

    @Override
    public void onTrainingEnd(Trainer.Loop loop) {
        if (loop.reason() == StopReason.DIVERGED && snapshot != null) {
            Weights.restore(network, snapshot);
        }
    }

    /** A checkpoint that could not be written (a full disk): the run ends, the last complete one is kept. */
    public static final class Failed extends UncheckedIOException {
        private static final long serialVersionUID = 1L;
        private final int epoch;
        private final int kept;

        Failed(int epoch, int kept, IOException cause) {
            super("the checkpoint of epoch " + epoch + " could not be written", cause);
            this.epoch = epoch;
            this.kept = kept;
        }

        /** The epoch whose checkpoint failed. */
        public int epoch() {
            return epoch;
        }

        /** The epoch of the last complete checkpoint (-1: none). */
        public int kept() {
            return kept;
        }
    }

    private void save(int epoch) {
        try {
            saver.save(epoch);
        } catch (IOException e) {
            throw new Failed(epoch, lastGood, e);
        }
        snapshot = snapshot();
        lastGood = epoch;
        lastTime = System.nanoTime();
        LOG.info("checkpoint at epoch {}", epoch);
    }

    /** The weights' values, read through a temporary manager: the float64 copies are freed with it. */
    private Map<String, double[]> snapshot() {
        try (NDManager step = network.manager().newSubManager()) {
            network.attach(step);
            return Weights.snapshot(network);
        }
    }

    private boolean finiteParameters() {
        try (NDManager step = network.manager().newSubManager()) {
            network.attach(step);
            for (Parameter p : network.parameters()) {
                if (p.array().isInfinite().any().getBoolean() || p.array().isNaN().any().getBoolean()) {
                    return false;
                }
            }
        }
        return true;
    }
}
