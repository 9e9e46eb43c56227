package dev.hesstrain.train;

import java.io.IOException;
import java.io.UncheckedIOException;

/** A checkpoint that could not be written (a full disk): the run ends, the last complete one is kept. */
public final class CheckpointFailed extends UncheckedIOException {
    private static final long serialVersionUID = 1L;
    private final int epoch;
    private final int kept;

    public CheckpointFailed(int epoch, int kept, IOException cause) {
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
