package dev.hesstrain.data;

/**
 * The independent random streams of a run, all derived from the spec's one seed: data generation
 * uses the seed itself, the rest use fixed offsets, so every stream is reproducible on its own.
 */
public final class Seeds {
    private Seeds() {}

    /** Parameter initialisation. */
    public static long init(long seed) {
        return seed + 1;
    }

    /** The order of minibatches. */
    public static long shuffle(long seed) {
        return seed + 2;
    }

    /** The train/validation split. */
    public static long split(long seed) {
        return seed + 3;
    }

    /** Probe vectors of randomised estimators. */
    public static long probes(long seed) {
        return seed + 4;
    }
}
