package dev.hesstrain.data;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import dev.hesstrain.spec.SpecException;
import java.util.Arrays;
import java.util.List;
import org.junit.jupiter.api.Test;

class SplitTest {
    /** Row i has x = i and y = 10 i, so rows can be told apart after shuffling. */
    private static Dataset indexed(int n) {
        double[] x = new double[n];
        double[] y = new double[n];
        for (int i = 0; i < n; i++) {
            x[i] = i;
            y[i] = 10 * i;
        }
        return new Dataset(x, y, n, 1, 1, List.of("i"), List.of("y"), "indexed");
    }

    @Test
    void sizesFollowTheFraction() {
        Split s = Split.split(indexed(100), 0.2, 7);
        assertEquals(80, s.train().n());
        assertEquals(20, s.validation().n());
        Split odd = Split.split(indexed(10), 0.25, 7); // round(2.5) = 3
        assertEquals(7, odd.train().n());
        assertEquals(3, odd.validation().n());
    }

    @Test
    void rowsAreDisjointCompleteAndKeepTheirTargets() {
        Split s = Split.split(indexed(97), 0.3, 3);
        boolean[] seen = new boolean[97];
        for (Dataset part : List.of(s.train(), s.validation())) {
            for (int r = 0; r < part.n(); r++) {
                int i = (int) part.x(r, 0);
                assertFalse(seen[i], "row " + i + " appears twice");
                seen[i] = true;
                assertEquals(10.0 * i, part.y(r, 0));
            }
        }
        for (boolean b : seen) {
            assertTrue(b);
        }
    }

    @Test
    void sameSeedSameSplitOtherSeedOtherSplit() {
        Split a = Split.split(indexed(50), 0.2, 11);
        Split b = Split.split(indexed(50), 0.2, 11);
        Split c = Split.split(indexed(50), 0.2, 12);
        assertArrayEquals(a.train().x(), b.train().x());
        assertArrayEquals(a.validation().x(), b.validation().x());
        assertFalse(Arrays.equals(a.validation().x(), c.validation().x()));
        // it really shuffles: the validation rows are not simply the last ten
        assertFalse(Arrays.equals(new double[] {40, 41, 42, 43, 44, 45, 46, 47, 48, 49}, a.validation().x()));
    }

    @Test
    void zeroFractionGivesEmptyValidation() {
        Split s = Split.split(indexed(20), 0.0, 1);
        assertEquals(20, s.train().n());
        assertEquals(0, s.validation().n());
        assertEquals(1, s.validation().d());
        double[] sorted = s.train().x().clone();
        Arrays.sort(sorted);
        assertArrayEquals(indexed(20).x(), sorted);
    }

    @Test
    void refusesToLeaveNoTrainingRows() {
        SpecException e = assertThrows(SpecException.class, () -> Split.split(indexed(1), 0.6, 1));
        assertEquals("data.validation", e.field());
        assertThrows(SpecException.class, () -> Split.split(indexed(10), 1.0, 1));
    }

    @Test
    void oneFisherYatesShuffleForTheSplitAndTheBatches() {
        assertArrayEquals(new int[] {0, 1, 2, 3, 4}, Split.permutation(5, null));
        int[] p = Split.permutation(1000, new java.util.SplittableRandom(11));
        assertArrayEquals(p, Split.permutation(1000, new java.util.SplittableRandom(11)));
        int[] sorted = p.clone();
        Arrays.sort(sorted);
        for (int i = 0; i < sorted.length; i++) {
            assertEquals(i, sorted[i]);
        }
        int fixed = 0;
        for (int i = 0; i < p.length; i++) {
            fixed += p[i] == i ? 1 : 0;
        }
        assertTrue(fixed < 8, "a shuffle leaves about one element in place, found " + fixed); // Poisson(1)
        // the split is that permutation: training rows first, validation rows last
        Split s = Split.split(indexed(10), 0.3, 5);
        int[] q = Split.permutation(10, new java.util.SplittableRandom(5));
        for (int r = 0; r < 7; r++) {
            assertEquals(q[r], (int) s.train().x(r, 0));
        }
        for (int r = 0; r < 3; r++) {
            assertEquals(q[7 + r], (int) s.validation().x(r, 0));
        }
    }

    @Test
    void aFractionThatRoundsToNoValidationRowsIsWarnedAbout() {
        assertEquals("data.validation: 0.2 of 2 rows rounds to no validation rows, so the run reports no validation"
                + " loss; give at least 3 rows, or set data.validation: 0 to train on all rows knowingly",
                Split.validationWarning(2, 0.2));
        assertTrue(Split.validationWarning(1, 0.2).startsWith("data.validation: 0.2 of 1 row rounds"));
        assertEquals(null, Split.validationWarning(3, 0.2)); // round(0.6) = 1 validation row
        assertEquals(null, Split.validationWarning(2, 0.0)); // asked for none
        assertTrue(Split.validationWarning(49, 0.01).contains("at least 50 rows"));
    }
}
