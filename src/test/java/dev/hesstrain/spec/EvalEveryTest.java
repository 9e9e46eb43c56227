package dev.hesstrain.spec;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;

import org.junit.jupiter.api.Test;

/** train.eval_every: given, or about one evaluation per 10 steps. */
class EvalEveryTest {
    private static TrainSpec train(Integer batch, Integer every) {
        return new TrainSpec(null, null, null, null, batch, null, every, null, null, null);
    }

    @Test
    void theDefaultEvaluatesAboutOncePerTenSteps() {
        assertEquals(10, train(null, null).evalEvery(500), "full batch: one step an epoch");
        assertEquals(10, train(1000, null).evalEvery(500), "a batch larger than the data is full batch");
        assertEquals(5, train(250, null).evalEvery(500), "2 steps an epoch");
        assertEquals(4, train(200, null).evalEvery(500), "3 steps an epoch");
        assertEquals(2, train(100, null).evalEvery(500), "5 steps an epoch");
        assertEquals(1, train(50, null).evalEvery(500), "10 steps an epoch");
        assertEquals(1, train(32, null).evalEvery(500), "16 steps an epoch");
    }

    @Test
    void aGivenCadenceIsKept() {
        assertEquals(3, train(null, 3).evalEvery(500));
        assertEquals(1, train(null, 1).evalEvery(500));
    }

    @Test
    void aCadenceBelowOneIsRefusedNamingTheField() {
        SpecException e = assertThrows(SpecException.class, () -> train(null, 0));
        assertEquals(true, e.getMessage().contains("eval_every"), e.getMessage());
    }
}
