package dev.hesstrain.runs;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.nio.ByteBuffer;
import java.nio.ByteOrder;
import java.nio.DoubleBuffer;
import java.nio.FloatBuffer;
import java.util.Arrays;
import java.util.Random;
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
    /**
     * The pooling by plain comparisons gives every cell and sum bit for bit as the pooling by
     * Math.max/min did (the reference below), on rows with both zeros, whole blocks of ±0, NaN and
     * infinities, from heap and direct buffers, with even and odd pools.
     */
    @Test
    void poolsBitForBitAsMathMaxAndMin() {
        Random rnd = new Random(7);
        for (int limit : new int[] {4, 5, 7}) {
            int rows = 23;
            int cols = 37;
            PooledMatrix f = new PooledMatrix(rows, cols, limit);
            PooledMatrix d = new PooledMatrix(rows, cols, limit);
            int pool = f.pool();
            double[][] refF = reference(rows, cols, pool);
            double[][] refD = reference(rows, cols, pool);
            for (int r = 0; r < rows; r++) {
                float[] row = new float[cols + 3];
                for (int c = 0; c < row.length; c++) {
                    int kind = rnd.nextInt(12);
                    row[c] = switch (kind) {
                        case 0 -> 0f;
                        case 1 -> -0f;
                        case 2 -> r / pool % 2 == 0 && r % 5 == 0 ? Float.NaN : 1f; // NaN away from the zero cells
                        case 3 -> r % 7 == 0 ? Float.NEGATIVE_INFINITY : -2f;
                        case 4 -> r % 6 == 0 ? Float.POSITIVE_INFINITY : 2f;
                        default -> (float) rnd.nextGaussian();
                    };
                }
                if (r / pool % 2 == 1) { // a cell of signed zeros only: column block 1 of these block rows
                    for (int c = 3 + pool; c < 3 + 2 * pool; c++) {
                        row[c] = rnd.nextBoolean() ? 0f : -0f;
                    }
                }
                FloatBuffer fb = r % 2 == 0 ? FloatBuffer.wrap(row)
                        : ByteBuffer.allocateDirect(row.length * 4).order(ByteOrder.nativeOrder()).asFloatBuffer().put(row);
                double[] wide = new double[row.length];
                for (int c = 0; c < row.length; c++) {
                    wide[c] = row[c];
                }
                DoubleBuffer db = r % 2 == 0 ? DoubleBuffer.wrap(wide)
                        : ByteBuffer.allocateDirect(wide.length * 8).order(ByteOrder.nativeOrder()).asDoubleBuffer().put(wide);
                double sf = f.add(r, fb, 3, cols);
                double sd = d.add(r, db, 3, cols);
                assertEquals(Double.doubleToRawLongBits(referenceAdd(refF, pool, r, row, 3, cols)),
                        Double.doubleToRawLongBits(sf), "float sum, row " + r);
                assertEquals(Double.doubleToRawLongBits(referenceAdd(refD, pool, r, wide, 3, cols)),
                        Double.doubleToRawLongBits(sd), "double sum, row " + r);
            }
            for (int i = 0; i < refF.length; i++) {
                assertEquals(bits(refF[i]), bits(f.cells()[i]), "float cells, limit " + limit + ", block row " + i);
                assertEquals(bits(refD[i]), bits(d.cells()[i]), "double cells, limit " + limit + ", block row " + i);
            }
        }
    }

    private static String bits(double[] v) {
        return Arrays.toString(Arrays.stream(v).mapToLong(Double::doubleToRawLongBits).toArray());
    }

    private static double[][] reference(int rows, int cols, int pool) {
        double[][] cells = new double[(rows + pool - 1) / pool][(cols + pool - 1) / pool];
        for (double[] r : cells) {
            Arrays.fill(r, Double.NaN);
        }
        return cells;
    }

    /** The pooling of a float row as it was written with Math.max/min. */
    private static double referenceAdd(double[][] cells, int pool, int r, float[] values, int off, int cols) {
        double[] dst = cells[r / pool];
        double s0 = 0;
        double s1 = 0;
        for (int c0 = 0, cell = 0; c0 < cols; c0 += pool, cell++) {
            int end = Math.min(cols, c0 + pool);
            float max = Float.NEGATIVE_INFINITY;
            float min = Float.POSITIVE_INFINITY;
            int c = c0;
            for (; c + 1 < end; c += 2) {
                float v = values[off + c];
                float w = values[off + c + 1];
                s0 += (double) v * v;
                s1 += (double) w * w;
                max = Math.max(max, Math.max(v, w));
                min = Math.min(min, Math.min(v, w));
            }
            if (c < end) {
                float v = values[off + c];
                s0 += (double) v * v;
                max = Math.max(max, v);
                min = Math.min(min, v);
            }
            float best = max >= -min ? max : min;
            double old = dst[cell];
            if (Double.isNaN(old) || Math.abs(best) > Math.abs(old) || Float.isNaN(best)) {
                dst[cell] = best;
            }
        }
        return s0 + s1;
    }

    /** The pooling of a float64 row as it was written with Math.max/min. */
    private static double referenceAdd(double[][] cells, int pool, int r, double[] values, int off, int cols) {
        double[] dst = cells[r / pool];
        double s = 0;
        for (int c0 = 0, cell = 0; c0 < cols; c0 += pool, cell++) {
            int end = Math.min(cols, c0 + pool);
            double max = Double.NEGATIVE_INFINITY;
            double min = Double.POSITIVE_INFINITY;
            for (int c = c0; c < end; c++) {
                double v = values[off + c];
                s += v * v;
                max = Math.max(max, v);
                min = Math.min(min, v);
            }
            double best = max >= -min ? max : min;
            double old = dst[cell];
            if (Double.isNaN(old) || Math.abs(best) > Math.abs(old) || Double.isNaN(best)) {
                dst[cell] = best;
            }
        }
        return s;
    }
}
