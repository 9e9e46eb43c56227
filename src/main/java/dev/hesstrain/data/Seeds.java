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

    /**
     * The seed of one part of a stream (an epoch's minibatch order, a step's probes): derived from
     * the stream's seed and the part's index alone, so that a run resumed at any epoch or step draws
     * what an uninterrupted one draws. SplitMix64's finaliser over the pair.
     */
    public static long derive(long stream, long index) {
        long z = stream * 0x9E3779B97F4A7C15L + index * 0xBF58476D1CE4E5B9L + 0x94D049BB133111EBL;
        z = (z ^ (z >>> 30)) * 0xBF58476D1CE4E5B9L;
        z = (z ^ (z >>> 27)) * 0x94D049BB133111EBL;
        return z ^ (z >>> 31);
    }
}
