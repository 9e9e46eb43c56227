package dev.hesstrain.data;

import dev.hesstrain.spec.SpecException;
import java.util.Arrays;
import java.util.SplittableRandom;

/** A dataset cut into training and validation rows. */
public record Split(Dataset train, Dataset validation) {

    /**
     * Shuffles the rows with a Fisher–Yates shuffle driven by {@code new SplittableRandom(seed)}
     * and puts the last {@code round(n * validationFraction)} shuffled rows into validation. With
     * fraction 0 the validation set is empty (n = 0). The same seed gives the same split.
     *
     * @throws SpecException (field {@code data.validation}) if no training rows would be left
     */
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
        return new Split(
                all.rows(Arrays.copyOfRange(perm, 0, nTrain)),
                all.rows(Arrays.copyOfRange(perm, nTrain, n)));
    }
}
