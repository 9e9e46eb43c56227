package dev.hesstrain.runs;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.nio.FloatBuffer;
import org.junit.jupiter.api.Test;

class PooledMatrixTest {

    @Test
    void keepsTheValueOfLargestMagnitudePerBlockAndSumsSquares() {
        int n = 7;
        PooledMatrix m = new PooledMatrix(n, n, 3); // pool = 3: blocks [0,3) [3,6) [6,7)
        assertEquals(3, m.pool());
        double total = 0;
        for (int r = 0; r < n; r++) {
            float[] row = new float[n + 2];
            double squares = 0;
            for (int c = 0; c < n; c++) {
                row[c + 2] = (float) ((r - 3) * (c - 2) * (r % 2 == 0 ? 1 : -1));
                squares += (double) row[c + 2] * row[c + 2];
            }
            assertEquals(squares, m.add(r, FloatBuffer.wrap(row), 2, n), 1e-9);
            total += squares;
        }
        assertTrue(total > 0);
        double[][] cells = m.cells();
        assertEquals(3, cells.length);
        assertEquals(3, cells[0].length);
        for (int br = 0; br < 3; br++) {
            for (int bc = 0; bc < 3; bc++) {
                double best = 0;
                for (int r = br * 3; r < Math.min(n, br * 3 + 3); r++) {
                    for (int c = bc * 3; c < Math.min(n, bc * 3 + 3); c++) {
                        double v = (r - 3) * (c - 2) * (r % 2 == 0 ? 1 : -1);
                        if (Math.abs(v) > Math.abs(best)) {
                            best = v;
                        }
                    }
                }
                assertEquals(Math.abs(best), Math.abs(cells[br][bc]), 0, "block " + br + "," + bc);
                if (best != 0) {
                    assertEquals(best, cells[br][bc], 0, "the sign is kept, block " + br + "," + bc);
                }
            }
        }
    }

    @Test
    void mergingPartsEqualsPoolingTheWhole() {
        int n = 10;
        PooledMatrix whole = new PooledMatrix(n, n, 4);
        PooledMatrix a = new PooledMatrix(n, n, 4);
        PooledMatrix b = new PooledMatrix(n, n, 4);
        for (int r = 0; r < n; r++) {
            float[] row = new float[n];
            for (int c = 0; c < n; c++) {
                row[c] = (float) Math.sin(r * 7 + c * 3) * (r + 1);
            }
            whole.add(r, FloatBuffer.wrap(row), 0, n);
            (r % 3 == 0 ? a : b).add(r, FloatBuffer.wrap(row), 0, n);
        }
        a.merge(b);
        for (int i = 0; i < whole.cells().length; i++) {
            assertArrayEquals(whole.cells()[i], a.cells()[i], 0);
        }
    }
}
