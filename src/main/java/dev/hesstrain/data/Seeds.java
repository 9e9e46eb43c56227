package dev.hesstrain.data;

import java.nio.charset.StandardCharsets;

/**
 * The independent random streams of a run, all derived from the spec's one seed and a purpose.
 *
 * <p>Each stream's seed is SplitMix64's finaliser applied to the run's seed, xor a 64-bit constant
 * of the purpose (FNV-1a of its name), finalised again: {@code mix64(mix64(seed) ^ c(purpose))}.
 * For one purpose that is a bijection of the seed, so no two seeds share a stream, and streams of
 * different purposes or seeds are unrelated. (Before, the streams were {@code seed + k}, so seed
 * s's initialisation stream was seed s+1's data stream.) The seeds feed {@link
 * java.util.SplittableRandom}; a consumer that needs several streams for one purpose splits them
 * from that purpose's generator (the data generator does, for inputs and noise).
 */
public final class Seeds {
    private Seeds() {}

    /** What a stream is for; the name, not the order, fixes its constant. */
    public enum Purpose {
        DATA,
        INIT,
        SHUFFLE,
        SPLIT,
        PROBES;

        final long constant = fnv1a("hesstrain." + name().toLowerCase(java.util.Locale.ROOT));
    }

    /** The seed of the stream for {@code purpose} of a run with {@code seed}. */
    public static long of(long seed, Purpose purpose) {
        return mix64(mix64(seed) ^ purpose.constant);
    }

    /** Data generation (inputs and noise of a generator). */
    public static long data(long seed) {
        return of(seed, Purpose.DATA);
    }

    /** Parameter initialisation. */
    public static long init(long seed) {
        return of(seed, Purpose.INIT);
    }

    /** The order of minibatches. */
    public static long shuffle(long seed) {
        return of(seed, Purpose.SHUFFLE);
    }

    /** The train/validation split. */
    public static long split(long seed) {
        return of(seed, Purpose.SPLIT);
    }

    /** Probe vectors of randomised estimators. */
    public static long probes(long seed) {
        return of(seed, Purpose.PROBES);
    }

    /** SplitMix64's output function (Steele, Lea and Flood 2014; java.util.SplittableRandom's mix64). */
    static long mix64(long z) {
        z = (z ^ (z >>> 30)) * 0xBF58476D1CE4E5B9L;
        z = (z ^ (z >>> 27)) * 0x94D049BB133111EBL;
        return z ^ (z >>> 31);
    }

    private static long fnv1a(String s) {
        long h = 0xCBF29CE484222325L;
        for (byte b : s.getBytes(StandardCharsets.UTF_8)) {
            h ^= b & 0xFF;
            h *= 0x100000001B3L;
        }
        return h;
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
