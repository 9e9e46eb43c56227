package dev.hesstrain.data;

import dev.hesstrain.spec.SpecException;
import java.util.Arrays;
import java.util.SplittableRandom;
import org.apache.logging.log4j.LogManager;
import org.apache.logging.log4j.Logger;

/** A dataset cut into training and validation rows. */
public record Split(Dataset train, Dataset validation) {
    private static final Logger LOG = LogManager.getLogger(Split.class);

    /**
     * The warning for a positive validation fraction that leaves no validation rows out of
     * {@code n}, or null: the run would train with no val_loss and without saying so.
     */
    static String validationWarning(int n, double validationFraction) {
        if (validationFraction <= 0 || Math.round(n * validationFraction) > 0) {
            return null;
        }
        int needed = (int) Math.ceil(0.5 / validationFraction);
        return "data.validation: " + validationFraction + " of " + n + " row" + (n == 1 ? "" : "s")
                + " rounds to no validation rows, so the run reports no validation loss; give at least " + needed
                + " rows, or set data.validation: 0 to train on all rows knowingly";
    }

    /**
     * 0..n-1 in the order of a Fisher–Yates shuffle driven by {@code rng} (in order if it is null):
     * the one shuffle, for the split and for the training batches.
     */
    public static int[] permutation(int n, SplittableRandom rng) {
        int[] p = new int[n];
        for (int i = 0; i < n; i++) {
            p[i] = i;
        }
        if (rng != null) {
            for (int i = n - 1; i > 0; i--) {
                int j = rng.nextInt(i + 1);
                int t = p[i];
                p[i] = p[j];
                p[j] = t;
            }
        }
        return p;
    }

    /**
     * Shuffles the rows with a Fisher–Yates shuffle driven by {@code new SplittableRandom(seed)}
     * and puts the last {@code round(n * validationFraction)} shuffled rows into validation. With
     * fraction 0 the validation set is empty (n = 0). The same seed gives the same split. A
     * positive fraction that rounds to no validation rows (a 1- or 2-row file at 0.2) is warned
     * about ({@link #validationWarning}).
     *
     * @throws SpecException (field {@code data.validation}) if no training rows would be left
     */
    public static Split split(Dataset all, double validationFraction, long seed) {
        if (!(validationFraction >= 0 && validationFraction < 1)) {
            throw new SpecException("data.validation", "must be in [0, 1), found " + validationFraction);
        }
        int n = all.n();
        int[] perm = permutation(n, new SplittableRandom(seed));
        int nValidation = (int) Math.round(n * validationFraction);
        int nTrain = n - nValidation;
        if (nTrain == 0) {
            throw new SpecException("data.validation", "a validation fraction of " + validationFraction
                    + " leaves no training rows out of " + n);
        }
        String warning = validationWarning(n, validationFraction);
        if (warning != null) {
            LOG.warn(warning);
        }
        return new Split(
                all.rows(Arrays.copyOfRange(perm, 0, nTrain)),
                all.rows(Arrays.copyOfRange(perm, nTrain, n)));
    }
}
