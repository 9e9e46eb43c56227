package dev.hesstrain.train;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertTrue;

import org.junit.jupiter.api.Test;

/** Lightning's EarlyStopping(mode="min"): improvement means value &lt; best − min_delta. */
class EarlyStoppingTest {

    @Test
    void stopsAfterPatienceEpochsWithoutImprovement() {
        EarlyStopping s = new EarlyStopping(2, 0.0);
        assertTrue(s.observe(1, 1.0));
        assertTrue(s.observe(2, 0.5));
        assertFalse(s.observe(3, 0.5)); // equal is no improvement
        assertFalse(s.shouldStop());
        assertTrue(s.observe(4, 0.4)); // the count restarts
        assertFalse(s.observe(5, 0.6));
        assertFalse(s.shouldStop());
        assertFalse(s.observe(6, 0.41));
        assertTrue(s.shouldStop());
        assertEquals(0.4, s.best());
        assertEquals(4, s.bestEpoch());
    }

    @Test
    void minDeltaMustBeBeaten() {
        EarlyStopping s = new EarlyStopping(1, 0.1);
        assertTrue(s.observe(1, 1.0));
        assertFalse(s.observe(2, 0.95)); // better, but not by min_delta: best stays 1.0 at epoch 1
        assertTrue(s.shouldStop());
        assertEquals(1.0, s.best());
        assertEquals(1, s.bestEpoch());
        EarlyStopping t = new EarlyStopping(3, 0.1);
        t.observe(1, 1.0);
        assertTrue(t.observe(2, 0.89));
        assertEquals(0.89, t.best());
    }

    @Test
    void notFiniteNeverImproves() {
        EarlyStopping s = new EarlyStopping(1, 0.0);
        assertFalse(s.observe(1, Double.NaN));
        assertTrue(s.shouldStop());
        assertEquals(0, s.bestEpoch());
    }
}
