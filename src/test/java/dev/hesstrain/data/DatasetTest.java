package dev.hesstrain.data;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertNotEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;

import java.util.List;
import org.junit.jupiter.api.Test;

class DatasetTest {
    private static Dataset small() {
        return new Dataset(new double[] {1, 2, 3, 4, 5, 6}, new double[] {0, 1, 0}, 3, 2, 1,
                List.of("a", "b"), List.of("label"), "test");
    }

    @Test
    void sha256MatchesAnIndependentComputation() {
        // python: sha256(struct.pack('<qqq', 3, 2, 1) + x.astype('<f8').tobytes() + y.astype('<f8').tobytes())
        assertEquals("924de9715be8b6fb23579675447aef0201b5d0314d841b087411cb879a8cf34f", small().sha256());
        assertEquals(small().sha256(), small().sha256());
    }

    @Test
    void sha256SeesOneChangedValue() {
        String base = small().sha256();
        double[] x = {1, 2, 3, Math.nextUp(4.0), 5, 6};
        Dataset changedX = new Dataset(x, new double[] {0, 1, 0}, 3, 2, 1, List.of("a", "b"), List.of("label"), "t");
        assertNotEquals(base, changedX.sha256());
        Dataset changedY = new Dataset(new double[] {1, 2, 3, 4, 5, 6}, new double[] {0, 2, 0}, 3, 2, 1,
                List.of("a", "b"), List.of("label"), "t");
        assertNotEquals(base, changedY.sha256());
        // same values, different shape
        Dataset reshaped = new Dataset(new double[] {1, 2, 3, 4, 5, 6}, new double[] {0, 1, 0}, 1, 6, 3,
                List.of("a", "b", "c", "d", "e", "f"), List.of("p", "q", "r"), "t");
        assertNotEquals(base, reshaped.sha256());
    }

    @Test
    void rowsPicksRowsInOrder() {
        Dataset sub = small().rows(new int[] {2, 0});
        assertEquals(2, sub.n());
        assertArrayEquals(new double[] {5, 6, 1, 2}, sub.x());
        assertArrayEquals(new double[] {0, 0}, sub.y());
        assertEquals(List.of("a", "b"), sub.inputNames());
        assertEquals(0, small().rows(new int[0]).n());
        assertThrows(IndexOutOfBoundsException.class, () -> small().rows(new int[] {3}));
    }

    @Test
    void classesIsLargestLabelPlusOne() {
        assertEquals(2, small().classes());
        Dataset four = new Dataset(new double[] {0, 0}, new double[] {3, 1}, 2, 1, 1,
                List.of("x"), List.of("y"), "t");
        assertEquals(4, four.classes());
    }

    @Test
    void rejectsInconsistentShapes() {
        assertThrows(IllegalArgumentException.class, () -> new Dataset(new double[5], new double[3], 3, 2, 1,
                List.of("a", "b"), List.of("y"), "t"));
        assertThrows(IllegalArgumentException.class, () -> new Dataset(new double[6], new double[3], 3, 2, 1,
                List.of("a"), List.of("y"), "t"));
    }
}
